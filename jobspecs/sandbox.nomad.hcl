# pyplay sandbox: one dispatched instance of this job is one student session's sandbox.
#
# This job never runs by itself: it is *parameterized*. Registering it only stores the
# template; each `dispatch` makes a child job (pyplay-sandbox/dispatch-<time>-<id>) with
# one allocation: a gVisor-isolated container running the sandbox agent.
#
#   Register (and re-register after building a new image, see docs/operators.md):
#     nomad job run -var image_tag=0.1.0 jobspecs/sandbox.nomad.hcl
#   Start one sandbox by hand (the control service does this for every session):
#     nomad job dispatch -meta mode=python -meta pool=manual pyplay-sandbox
#   See what is running:
#     nomad job status pyplay-sandbox            # the parent and its children
#     nomad job status pyplay-sandbox/dispatch-1700000000-0a1b2c3d
#     nomad alloc logs -stderr <alloc-id>
#   Remove a child (the control service does this when its session ends or it is replaced):
#     nomad job stop -purge pyplay-sandbox/dispatch-1700000000-0a1b2c3d
#
# The control service finds a child's sandbox through Consul: the service below carries
# the tag "alloc:<allocation id>" and, in its meta, the host port of the display (VNC).

variable "image" {
  type        = string
  description = "Sandbox image repository, built from sandbox/Dockerfile and pushed by the operator."
  default     = "pyplay/sandbox"
}

variable "image_tag" {
  type        = string
  description = "Sandbox image tag. Always a fixed version (a release or a commit id), never latest."
  default     = "0.1.0"

  validation {
    condition     = var.image_tag != "latest" && var.image_tag != ""
    error_message = "Pin the sandbox image: image_tag must be a fixed version, not latest."
  }
}

variable "datacenters" {
  type        = list(string)
  description = "Datacenters whose sandbox clients may run sandboxes."
  default     = ["dc1"]
}

job "pyplay-sandbox" {
  type        = "batch"
  datacenters = var.datacenters
  # Above the default (50): a student is waiting for every one of these.
  priority = 70

  parameterized {
    # Files travel over the agent connection after the claim, not in Nomad's 16 KiB payload.
    payload       = "forbidden"
    meta_required = ["mode"]           # python | pygame | turtle: the agent pre-warms for it
    meta_optional = ["pool", "owner"]  # warm | cold | manual; which control instance owns it
  }

  # Sandboxes only run on the autoscaled sandbox clients, never next to the proxies.
  constraint {
    attribute = "${node.class}"
    value     = "sandbox"
  }

  # ...and only where Docker has the gVisor runtime (the client's user data installs it).
  constraint {
    attribute = "${attr.driver.docker.runtimes}"
    operator  = "set_contains"
    value     = "runsc"
  }

  group "sandbox" {
    count = 1

    # A sandbox that dies is not restarted or rescheduled: a half-finished run must not
    # come back. The control service dispatches a fresh one instead.
    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    ephemeral_disk {
      size = 150
    }

    network {
      # Dynamic host ports mapped to fixed ports inside the container. The security
      # groups (terraform/) let only the proxies reach the clients' dynamic port range.
      port "pty" {
        to = 7000
      }
      port "vnc" {
        to = 5900
      }
      port "audio" {   # pygame runs' sound (Opus); the agent serves it in pygame mode only
        to = 5910
      }
    }

    task "agent" {
      driver = "docker"

      config {
        image   = "${var.image}:${var.image_tag}"
        runtime = "runsc"
        ports   = ["pty", "vnc", "audio"]
        args = [
          "--listen", "tcp:0.0.0.0:${NOMAD_PORT_pty}",
          "--vnc-listen", "tcp:0.0.0.0:${NOMAD_PORT_vnc}",
          "--audio-listen", "tcp:0.0.0.0:${NOMAD_PORT_audio}",
          "--mode", "${NOMAD_META_mode}",
          "--workspace", "/workspace",
          "--uid", "1000",
          # Emptied between the runs of the session that owns this sandbox (reset in place).
          "--scratch", "/tmp",
          "--scratch", "/dev/shm",
        ]

        # Defence in depth around gVisor: no privileges, no capabilities, nothing writable
        # but size-limited tmpfs mounts.
        privileged      = false
        cap_drop        = ["ALL"]
        # ...but the agent's own, as in the local sandboxes (scheduler/bundle.py): it runs as
        # root inside gVisor, chowns the workspace, drops each program to uid 1000, kills the
        # student's processes between runs, and gives each run a SysV IPC namespace
        # (sys_admin, inside gVisor only; the clients' allow_caps must list it). The
        # program gives up every capability with its uid.
        cap_add = ["chown", "dac_override", "fowner", "kill", "setgid", "setuid", "sys_admin"]
        security_opt    = ["no-new-privileges"]
        readonly_rootfs = true
        # Host tasks of the whole gVisor sandbox (its kernel's threads and one per guest
        # thread under ptrace), not the student's processes (the agent limits those to
        # PYPLAY_LIMIT_PROCESSES): a pygame sandbox uses ~150 idle, and 128 killed it at its
        # first reset (measured under Docker with runsc, tests/containers/;
        # idle threads by mode: python 84-85, pygame and turtle 91, ptrace platform).
        pids_limit      = 512
        # A Docker network whose outbound traffic the client's firewall drops
        # (terraform/modules/pyplay/templates/client.sh.tftpl): replies to the proxies only.
        network_mode = "pyplay-sandbox"

        mount {
          type     = "tmpfs"
          target   = "/workspace"
          readonly = false
          tmpfs_options {
            size = 67108864
          }
        }

        mount {
          type     = "tmpfs"
          target   = "/tmp"
          readonly = false
          tmpfs_options {
            size = 67108864
          }
        }

        # Replaces Docker's own /dev/shm, so the agent can empty it between runs like /tmp.
        mount {
          type     = "tmpfs"
          target   = "/dev/shm"
          readonly = false
          tmpfs_options {
            size = 16777216
          }
        }

        ulimit {
          nofile = "256:256"
        }
      }

      env {
        HOME = "/tmp"
      }

      resources {
        cpu        = 500 # MHz reserved; bursts above it when the client has room
        memory     = 640 # MiB reserved: the program's 512 MiB limit + Xvnc + the agent
        memory_max = 768
      }

      kill_timeout = "5s"

      logs {
        max_files     = 2
        max_file_size = 5
      }

      service {
        name = "pyplay-sandbox"
        port = "pty"
        tags = ["pyplay", "mode:${NOMAD_META_mode}", "alloc:${NOMAD_ALLOC_ID}"]
        # The node's address and the host port, which the proxies can route to. Left to
        # "auto", the Docker driver advertises the container's address on the
        # pyplay-sandbox network and its inner port 7000: unroutable from the proxies,
        # while the check (host mode by default) still passes.
        address_mode = "host"

        meta {
          job_id   = "${NOMAD_JOB_ID}"
          vnc_port   = "${NOMAD_HOST_PORT_vnc}"
          audio_port = "${NOMAD_HOST_PORT_audio}"
        }

        # The agent listens only once it is ready (Xvnc up and pygame/tkinter imported for
        # display modes), so "accepts a connection" means "ready to be claimed".
        # Checked where the proxies connect: the host address and port, like the service.
        # A probe connects and closes without a byte; the agent does not count it as
        # somebody being there (sandbox/attendance.py), so orphans still end.
        check {
          name         = "agent accepts connections"
          type         = "tcp"
          port         = "pty"
          address_mode = "host"
          interval     = "1s"
          timeout      = "1s"
        }
      }
    }
  }
}
