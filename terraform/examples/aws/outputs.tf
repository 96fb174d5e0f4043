output "lb_dns_name" {
  description = "Point the IDE host name (CNAME or alias) here."
  value       = module.pyplay.lb_dns_name
}

output "sandbox_client_asg_name" {
  description = "Pass to jobspecs/autoscaler.nomad.hcl as -var client_asg_name=..."
  value       = module.pyplay.sandbox_client_asg_name
}

output "server_instance_ids" {
  description = "Servers, for `aws ssm start-session --target <id>`."
  value       = module.pyplay.server_instance_ids
}

output "client_tokens_secret_arn" {
  description = "Store the clients' Consul tokens here once after bootstrapping ACLs (docs/operators.md)."
  value       = module.pyplay.client_tokens_secret_arn
}
