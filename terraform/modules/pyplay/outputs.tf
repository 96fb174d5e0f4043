output "lb_dns_name" {
  description = "Public name of the load balancer: point the IDE's DNS record at it."
  value       = aws_lb.pyplay.dns_name
}

output "sandbox_client_asg_name" {
  description = "Autoscaling group of the sandbox clients: the Nomad Autoscaler's target (jobspecs/autoscaler.nomad.hcl)."
  value       = aws_autoscaling_group.sandbox.name
}

output "proxy_client_asg_name" {
  description = "Autoscaling group of the proxy clients."
  value       = aws_autoscaling_group.proxy.name
}

output "server_instance_ids" {
  description = "Nomad + Consul servers, for SSM sessions (aws ssm start-session --target ...)."
  value       = aws_instance.server[*].id
}

output "vpc_id" {
  description = "The cluster's VPC."
  value       = aws_vpc.this.id
}

output "sandbox_security_group_id" {
  description = "Security group of the sandbox clients; only the proxy group may reach their dynamic ports."
  value       = aws_security_group.sandbox.id
}

output "client_tokens_secret_arn" {
  description = "Secrets Manager secret the clients read their Consul tokens from; fill it once after bootstrapping ACLs (docs/operators.md)."
  value       = aws_secretsmanager_secret.client_tokens.arn
}
