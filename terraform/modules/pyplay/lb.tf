# The public entry: an application load balancer in front of the proxy clients' port 8000.
# WebSockets pass through ALBs as they are; the idle timeout decides how long a silent
# terminal (a student thinking) survives, so it is at least an hour.

resource "aws_lb" "pyplay" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.lb.id]
  subnets                    = aws_subnet.public[*].id
  idle_timeout               = var.lb_idle_timeout_seconds
  drop_invalid_header_fields = true
  tags                       = local.common_tags
}

resource "aws_lb_target_group" "pyplay" {
  name                 = "${var.name}-web"
  port                 = 8000
  protocol             = "HTTP"
  vpc_id               = aws_vpc.this.id
  deregistration_delay = 60

  # Liveness, not readiness: the autoscaling group replaces instances this check fails
  # (clients.tf), and /readyz answers 503 whenever the service is at capacity or cannot
  # reach Nomad, which would cycle busy proxies. A proxy at capacity still serves its
  # students; a new student it cannot take gets "busy" and the IDE retries.
  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# Only what students need reaches the service from the internet: the session socket, the
# display socket and health. Everything else (there is nothing else on port 8000 now; the
# operators' REST and /metrics are on the internal port) gets a 404 from the balancer itself.
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.pyplay.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = "{\"error\": \"not found\"}"
      status_code  = "404"
    }
  }
}

# An ALB path-pattern condition takes at most five values: one rule per group of student paths.
resource "aws_lb_listener_rule" "students" {
  for_each     = local.student_path_groups
  listener_arn = aws_lb_listener.https.arn
  priority     = each.value.priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.pyplay.arn
  }

  condition {
    path_pattern {
      values = each.value.paths
    }
  }
}

locals {
  # The session socket (at / and /v1/session), the display socket, health; a run's sound socket.
  student_path_groups = {
    sockets = { priority = 10, paths = ["/", "/v1/session", "/v1/runs/*/vnc", "/healthz", "/readyz"] }
    sound   = { priority = 11, paths = ["/v1/runs/*/audio"] }
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.pyplay.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}
