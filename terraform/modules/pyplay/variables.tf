# Inputs of the pyplay cluster module. Every variable is typed and described; the ones
# without a default must be set by the caller (see ../../examples/aws).

variable "name" {
  type        = string
  description = "Prefix of every resource name and the cluster's auto-join tag value."
  default     = "pyplay"
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 block of the new VPC (a /16 from your private address plan)."

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a CIDR block of /20 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones to spread subnets, servers and clients over (two or three)."

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "Use at least two availability zones: the load balancer needs them."
  }
}

variable "server_count" {
  type        = number
  description = "Nomad + Consul servers. Three tolerate one failure; five tolerate two."
  default     = 3

  validation {
    condition     = contains([3, 5], var.server_count)
    error_message = "server_count must be 3 or 5 (an odd quorum)."
  }
}

variable "server_instance_type" {
  type        = string
  description = "EC2 instance type of the Nomad + Consul servers."
  default     = "t3.small"
}

variable "proxy_count" {
  type        = number
  description = "Proxy clients: they run the control service (one instance each) and the autoscaler."
  default     = 2
}

variable "proxy_instance_type" {
  type        = string
  description = "EC2 instance type of the proxy clients."
  default     = "c6i.large"
}

variable "sandbox_instance_type" {
  type        = string
  description = "EC2 instance type of the sandbox clients (where gVisor sandboxes run)."
  default     = "c6i.2xlarge"
}

variable "sandbox_min_size" {
  type        = number
  description = "Fewest sandbox clients; the Nomad Autoscaler never goes below it."
  default     = 1
}

variable "sandbox_max_size" {
  type        = number
  description = "Most sandbox clients: the cost ceiling the autoscaler cannot pass."
  default     = 20
}

variable "sandbox_port_range" {
  type        = object({ from = number, to = number })
  description = "Nomad's dynamic port range on sandbox clients (client.min/max_dynamic_port): where sandbox PTY and VNC ports land."
  default     = { from = 20000, to = 32000 }
}

variable "nomad_version" {
  type        = string
  description = "Nomad package version installed on every node (HashiCorp apt repository)."
  default     = "1.7.7"
}

variable "consul_version" {
  type        = string
  description = "Consul package version installed on every node (HashiCorp apt repository)."
  default     = "1.18.1"
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "Who may reach the load balancer (the schools, or 0.0.0.0/0 for everyone)."
  default     = ["0.0.0.0/0"]
}

variable "admin_cidrs" {
  type        = list(string)
  description = "Operators' networks allowed to reach the Nomad and Consul APIs/UIs on the servers. Empty: use SSM port forwarding instead."
  default     = []
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for the load balancer's HTTPS listener."
}

variable "lb_idle_timeout_seconds" {
  type        = number
  description = "Load balancer idle timeout. A student's terminal can sit silent for a long time; WebSockets must survive it."
  default     = 3600

  validation {
    condition     = var.lb_idle_timeout_seconds >= 3600 && var.lb_idle_timeout_seconds <= 4000
    error_message = "lb_idle_timeout_seconds must be between 3600 (an hour of silence) and 4000 (the ALB maximum)."
  }
}

variable "ssh_key_name" {
  type        = string
  description = "EC2 key pair for emergency SSH. Null: no key; use SSM Session Manager."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
