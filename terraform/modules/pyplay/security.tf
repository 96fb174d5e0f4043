# Who may talk to whom.
#
#   internet --443/80--> lb --8000--> proxy clients --sandbox ports--> sandbox clients
#
# The sandbox clients' dynamic port range (sandbox PTY and VNC ports) accepts connections
# from the proxy clients' security group and from nothing else: not the load balancer,
# not the servers, not other sandbox clients. The "cluster" group carries Nomad and
# Consul's own traffic between members and never opens the sandbox ports.

resource "aws_security_group" "lb" {
  name        = "${var.name}-lb"
  description = "pyplay load balancer: HTTPS from allowed networks"
  vpc_id      = aws_vpc.this.id
  tags        = local.common_tags
}

resource "aws_security_group" "proxy" {
  name        = "${var.name}-proxy"
  description = "pyplay proxy clients: the control service behind the load balancer"
  vpc_id      = aws_vpc.this.id
  tags        = local.common_tags
}

resource "aws_security_group" "sandbox" {
  name        = "${var.name}-sandbox"
  description = "pyplay sandbox clients: sandbox ports reachable from the proxies only"
  vpc_id      = aws_vpc.this.id
  tags        = local.common_tags
}

resource "aws_security_group" "cluster" {
  name        = "${var.name}-cluster"
  description = "pyplay Nomad and Consul traffic between cluster members"
  vpc_id      = aws_vpc.this.id
  tags        = local.common_tags
}

# ---------------------------------------------------------------- load balancer

resource "aws_vpc_security_group_ingress_rule" "lb_https" {
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.lb.id
  description       = "HTTPS and secure WebSockets from the schools"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "lb_http" {
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.lb.id
  description       = "HTTP, only to redirect to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "lb_to_proxy" {
  security_group_id            = aws_security_group.lb.id
  description                  = "To the control service on the proxy clients"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.proxy.id
}

# ---------------------------------------------------------------- proxy clients

resource "aws_vpc_security_group_ingress_rule" "proxy_from_lb" {
  security_group_id            = aws_security_group.proxy.id
  description                  = "The control service, from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
  referenced_security_group_id = aws_security_group.lb.id
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_proxy" {
  security_group_id            = aws_security_group.proxy.id
  description                  = "The internal port: replicas forward a run's sockets to its owner"
  ip_protocol                  = "tcp"
  from_port                    = 8001
  to_port                      = 8001
  referenced_security_group_id = aws_security_group.proxy.id
}

# ---------------------------------------------------------------- sandbox clients

resource "aws_vpc_security_group_ingress_rule" "sandbox_from_proxy" {
  security_group_id            = aws_security_group.sandbox.id
  description                  = "Sandbox PTY and VNC ports, from the proxies only"
  ip_protocol                  = "tcp"
  from_port                    = var.sandbox_port_range.from
  to_port                      = var.sandbox_port_range.to
  referenced_security_group_id = aws_security_group.proxy.id
}

# ---------------------------------------------------------------- cluster members

locals {
  # Nomad: HTTP API, RPC, Serf. Consul: server RPC, LAN Serf, HTTP(S)/gRPC API, DNS.
  cluster_ports = {
    nomad_http      = { protocol = "tcp", from = 4646, to = 4646 }
    nomad_rpc       = { protocol = "tcp", from = 4647, to = 4647 }
    nomad_serf_tcp  = { protocol = "tcp", from = 4648, to = 4648 }
    nomad_serf_udp  = { protocol = "udp", from = 4648, to = 4648 }
    consul_rpc      = { protocol = "tcp", from = 8300, to = 8300 }
    consul_serf_tcp = { protocol = "tcp", from = 8301, to = 8302 }
    consul_serf_udp = { protocol = "udp", from = 8301, to = 8302 }
    consul_api      = { protocol = "tcp", from = 8500, to = 8503 }
    consul_dns_tcp  = { protocol = "tcp", from = 8600, to = 8600 }
    consul_dns_udp  = { protocol = "udp", from = 8600, to = 8600 }
  }
}

resource "aws_vpc_security_group_ingress_rule" "cluster" {
  for_each                     = local.cluster_ports
  security_group_id            = aws_security_group.cluster.id
  description                  = "Nomad/Consul ${each.key} between cluster members"
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.from
  to_port                      = each.value.to
  referenced_security_group_id = aws_security_group.cluster.id
}

resource "aws_vpc_security_group_ingress_rule" "admin_api" {
  for_each          = toset(var.admin_cidrs)
  security_group_id = aws_security_group.cluster.id
  description       = "Operators: Nomad API/UI"
  ip_protocol       = "tcp"
  from_port         = 4646
  to_port           = 4646
  cidr_ipv4         = each.value
}

# Nodes fetch packages and images and call AWS APIs. What containers may reach is decided
# on the host: the sandbox network's outbound traffic is dropped (templates/client.sh.tftpl).
resource "aws_vpc_security_group_egress_rule" "nodes" {
  for_each = {
    proxy   = aws_security_group.proxy.id
    sandbox = aws_security_group.sandbox.id
    cluster = aws_security_group.cluster.id
  }
  security_group_id = each.value
  description       = "Outbound: packages, images, AWS APIs, cluster traffic"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
