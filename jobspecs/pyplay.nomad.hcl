# pyplay control service: the Sanic app the IDE talks to (ws://HOST/ and /v1/session).
#
# Every instance is a replica that can take any socket: a run's id names the replica that
# owns it, and a display socket, resume or REST call that lands elsewhere is forwarded to
# the owner's internal port (8001, cluster network only), found in Consul. The load
# balancer needs no stickiness.
#
# In this version the control service *is* the proxy: the process that dispatches a
# sandbox (scheduler/nomad/) also holds the student's WebSocket and joins it to the
# sandbox's PTY and VNC ports. So "the proxies" are the allocations of this job, and they
# run only on the proxy clients, whose security group is the one allowed to reach sandbox
# ports (terraform/modules/pyplay/security.tf).
#
#   Deploy or update:   nomad job run -var image_tag=0.1.0 jobspecs/pyplay.nomad.hcl
#   Status:             nomad job status pyplay
#   Logs:               nomad alloc logs -job pyplay            (JSON lines, one per run start/end)
#   Scale:              nomad job scale pyplay web 3
#
# It needs a Nomad ACL token that may dispatch, read and purge pyplay-sandbox children,
# stored once as a Nomad variable (see docs/operators.md):
#   nomad var put nomad/jobs/pyplay nomad_token=<secret id> consul_token=<secret id> \
#       admin_token=<random, for the internal port's REST and /metrics>

variable "image" {
  type        = string
  description = "Control service image repository."
  default     = "pyplay/service"
}

variable "image_tag" {
  type        = string
  description = "Control service image tag: a fixed version, never latest."
  default     = "0.1.0"

  validation {
    condition     = var.image_tag != "latest" && var.image_tag != ""
    error_message = "Pin the service image: image_tag must be a fixed version, not latest."
  }
}

variable "instances" {
  type        = number
  description = "Control/proxy instances; at most one per proxy client (they use static port 8000)."
  default     = 2
}

variable "datacenters" {
  type        = list(string)
  description = "Datacenters of the proxy clients."
  default     = ["dc1"]
}

variable "allowed_origins" {
  type        = string
  description = "Comma-separated origins of the IDE allowed to open WebSockets."
  default     = "https://ide.example.org"
}

job "pyplay" {
  type        = "service"
  datacenters = var.datacenters

  constraint {
    attribute = "${node.class}"
    value     = "proxy"
  }

  group "web" {
    count = var.instances

    # One instance per proxy client: the load balancer sends port 8000 of every proxy
    # client to this job, and a second instance on the same host could not bind it.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    # Rolling updates one instance at a time; an instance counts as healthy only when
    # /readyz passes (it can reach Nomad and Consul and take a run). A bad release rolls back.
    update {
      max_parallel      = 1
      health_check      = "checks"
      min_healthy_time  = "10s"
      healthy_deadline  = "3m"
      progress_deadline = "10m"
      auto_revert       = true
    }

    network {
      port "http" {
        static = 8000
      }
      # The internal listener: operators' REST and /metrics, and the sockets another
      # replica forwards here for a run this one owns. Cluster network only (security.tf).
      port "internal" {
        static = 8001
      }
    }

    task "pyplay" {
      driver = "docker"

      # Open WebSockets get this long to finish before the task is killed on deploys and
      # drains; resumable runs reconnect to another instance only if it can reach them.
      kill_timeout = "60s"
      kill_signal  = "SIGTERM"

      config {
        image           = "${var.image}:${var.image_tag}"
        ports           = ["http", "internal"]
        privileged      = false
        cap_drop        = ["ALL"]
        readonly_rootfs = true
      }

      env {
        PYPLAY_SCHEDULER       = "nomad"
        PYPLAY_HOST            = "0.0.0.0"
        PYPLAY_PORT            = "8000"
        PYPLAY_ADMIN_HOST      = "0.0.0.0"
        PYPLAY_ADMIN_PORT      = "8001"
        # Every run id names its replica; any replica forwards a socket for another's run
        # to it, found in Consul as the service below.
        PYPLAY_REPLICA         = "${NOMAD_SHORT_ALLOC_ID}"
        PYPLAY_PEER_DISCOVERY  = "consul"
        PYPLAY_PEER_SERVICE    = "pyplay-internal"
        # On SIGTERM runs get this long to end on their own (under kill_timeout).
        PYPLAY_DRAIN_SECONDS   = "50"
        PYPLAY_ALLOWED_ORIGINS = var.allowed_origins
        PYPLAY_LOG_FORMAT      = "json"
        # The local Nomad and Consul agents; they forward to the servers.
        NOMAD_ADDR       = "http://${attr.unique.network.ip-address}:4646"
        CONSUL_HTTP_ADDR = "${attr.unique.network.ip-address}:8500"
        # The owner of the sandboxes this instance dispatches: its allocation, stable across
        # restarts of the task, so a restarted instance purges exactly the sandboxes it had
        # dispatched. When the allocation stops running (scaled away, replaced, lost with
        # its node), the other instances purge its sandboxes: they look the owner up among
        # this job's running allocations (scheduler/nomad/sweeper.py).
        PYPLAY_NOMAD_OWNER       = "${NOMAD_JOB_ID}/${NOMAD_ALLOC_ID}"
        PYPLAY_NOMAD_CONTROL_JOB = "${NOMAD_JOB_ID}"
      }

      template {
        destination = "secrets/tokens.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/pyplay" }}
          NOMAD_TOKEN={{ .nomad_token }}
          CONSUL_HTTP_TOKEN={{ .consul_token }}
          PYPLAY_ADMIN_TOKEN={{ .admin_token }}
          {{ end }}
        EOT
      }

      resources {
        cpu    = 1000
        memory = 512
      }

      service {
        name = "pyplay"
        port = "http"
        tags = ["pyplay", "http"]

        check {
          name     = "alive"
          type     = "http"
          path     = "/healthz"
          interval = "5s"
          timeout  = "2s"
        }

        check {
          name     = "ready"
          type     = "http"
          path     = "/readyz"
          interval = "5s"
          timeout  = "2s"
        }
      }

      service {
        name = "pyplay-internal"
        port = "internal"
        tags = ["replica:${NOMAD_SHORT_ALLOC_ID}"]

        # TCP: the listener wants the admin token for HTTP; a replica that died fails this
        # within seconds, and peers then answer its students `gone`.
        check {
          name     = "listening"
          type     = "tcp"
          interval = "5s"
          timeout  = "2s"
        }
      }
    }
  }
}
