variable "region" {
  type        = string
  description = "AWS region to deploy into."
  default     = "eu-central-1"
}

variable "name" {
  type        = string
  description = "Name prefix of every resource."
  default     = "pyplay"
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 block of the new VPC: a /16 from your organisation's private address plan."
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones of the region to use."
  default     = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate (in the same region) for the IDE's host name."
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "Networks allowed to reach the service; 0.0.0.0/0 for everyone."
  default     = ["0.0.0.0/0"]
}

variable "sandbox_min_size" {
  type        = number
  description = "Fewest sandbox clients."
  default     = 1
}

variable "sandbox_max_size" {
  type        = number
  description = "Most sandbox clients (the cost ceiling)."
  default     = 10
}
