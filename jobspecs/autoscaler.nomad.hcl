# The Nomad Autoscaler, scaling the sandbox clients' AWS autoscaling group.
#
# Sandboxes reserve CPU and memory on the sandbox clients (jobspecs/sandbox.nomad.hcl).
# When the reserved share passes the target, the autoscaler adds clients; when it falls,
# it drains the least busy client and removes it. The drain deadline is longer than the
# longest run (Limits.wall_seconds, 15 minutes), so scaling in never cuts a run short.
#
#   Deploy:  nomad job run \
#              -var client_asg_name="$(terraform -chdir=terraform/examples/aws output -raw sandbox_client_asg_name)" \
#              -var aws_region=eu-central-1 jobspecs/autoscaler.nomad.hcl
#   Watch:   nomad alloc logs -f -job nomad-autoscaler
#
# AWS credentials come from the proxy clients' instance role (terraform/modules/pyplay/iam.tf).

variable "image_tag" {
  type        = string
  description = "hashicorp/nomad-autoscaler image tag: a fixed release."
  default     = "0.4.5"
}

variable "client_asg_name" {
  type        = string
  description = "Name of the sandbox clients' autoscaling group (terraform output sandbox_client_asg_name)."
}

variable "aws_region" {
  type        = string
  description = "AWS region of the autoscaling group."
}

variable "min_clients" {
  type        = number
  description = "Fewest sandbox clients to keep, even when idle."
  default     = 1
}

variable "max_clients" {
  type        = number
  description = "Most sandbox clients to run: the cost ceiling."
  default     = 20
}

variable "datacenters" {
  type        = list(string)
  description = "Datacenters of the proxy clients, where the autoscaler runs."
  default     = ["dc1"]
}

job "nomad-autoscaler" {
  type        = "service"
  datacenters = var.datacenters

  constraint {
    attribute = "${node.class}"
    value     = "proxy"
  }

  group "autoscaler" {
    # One autoscaler at a time: two would fight over the group's desired capacity.
    count = 1

    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "3m"
      auto_revert      = true
    }

    network {
      port "http" {}
    }

    task "autoscaler" {
      driver = "docker"

      config {
        image   = "hashicorp/nomad-autoscaler:${var.image_tag}"
        command = "nomad-autoscaler"
        args = [
          "agent",
          "-config", "${NOMAD_SECRETS_DIR}/config.hcl",
          "-policy-dir", "${NOMAD_TASK_DIR}/policies",
          "-http-bind-address", "0.0.0.0",
          "-http-bind-port", "${NOMAD_PORT_http}",
        ]
        ports      = ["http"]
        privileged = false
      }

      # The agent: where Nomad is (the local client agent), its ACL token (a Nomad
      # variable: nomad var put nomad/jobs/nomad-autoscaler token=<secret id>), the plugins.
      template {
        destination = "secrets/config.hcl"
        data        = <<-EOT
          nomad {
            address = "http://{{ env "attr.unique.network.ip-address" }}:4646"
            token   = "{{ with nomadVar "nomad/jobs/nomad-autoscaler" }}{{ .token }}{{ end }}"
          }
          apm "nomad-apm" {
            driver = "nomad-apm"
          }
          target "aws-asg" {
            driver = "aws-asg"
            config = {
              aws_region = "${var.aws_region}"
            }
          }
          strategy "target-value" {
            driver = "target-value"
          }
        EOT
      }

      # The policy: keep the sandbox clients 70% reserved, between min and max clients.
      template {
        destination = "local/policies/sandbox-clients.hcl"
        data        = <<-EOT
          scaling "sandbox_clients" {
            enabled = true
            min     = ${var.min_clients}
            max     = ${var.max_clients}

            policy {
              cooldown            = "3m"
              evaluation_interval = "30s"

              check "memory_reserved" {
                source = "nomad-apm"
                query  = "percentage-allocated_memory"
                strategy "target-value" {
                  target = 70
                }
              }

              check "cpu_reserved" {
                source = "nomad-apm"
                query  = "percentage-allocated_cpu"
                strategy "target-value" {
                  target = 70
                }
              }

              target "aws-asg" {
                aws_asg_name           = "${var.client_asg_name}"
                node_class             = "sandbox"
                node_selector_strategy = "least_busy"
                node_drain_deadline    = "20m"
                node_purge             = "true"
              }
            }
          }
        EOT
      }

      resources {
        cpu    = 200
        memory = 256
      }

      service {
        name = "nomad-autoscaler"
        port = "http"

        check {
          type     = "http"
          path     = "/v1/health"
          interval = "10s"
          timeout  = "2s"
        }
      }
    }
  }
}
