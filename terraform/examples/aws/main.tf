# Example: one pyplay cluster in one AWS region.
#
#   cp terraform.tfvars.example terraform.tfvars   # then edit it
#   terraform init && terraform apply
#
# Then follow docs/operators.md: bootstrap ACLs, run the jobs in jobspecs/, point DNS at
# the load balancer.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project = "pyplay"
    }
  }
}

module "pyplay" {
  source = "../../modules/pyplay"

  name                  = var.name
  vpc_cidr              = var.vpc_cidr
  availability_zones    = var.availability_zones
  certificate_arn       = var.certificate_arn
  allowed_ingress_cidrs = var.allowed_ingress_cidrs
  sandbox_min_size      = var.sandbox_min_size
  sandbox_max_size      = var.sandbox_max_size
}
