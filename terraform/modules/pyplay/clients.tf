# Nomad clients, in two autoscaling groups:
#
#   proxy   - a fixed number; run the control service (behind the load balancer) and the
#             Nomad Autoscaler. node_class = "proxy".
#   sandbox - autoscaled by the Nomad Autoscaler (jobspecs/autoscaler.nomad.hcl); run the
#             gVisor sandboxes. node_class = "sandbox".

locals {
  client_classes = {
    proxy = {
      instance_type   = var.proxy_instance_type
      security_groups = [aws_security_group.proxy.id, aws_security_group.cluster.id]
      # The autoscaler runs in a container and needs the instance role: one more hop.
      imds_hops = 2
      # Kept back from Nomad for the host: Docker, the Consul and Nomad agents.
      reserved_cpu    = 200
      reserved_memory = 512
    }
    sandbox = {
      instance_type   = var.sandbox_instance_type
      security_groups = [aws_security_group.sandbox.id, aws_security_group.cluster.id]
      # Containers are one hop away: with a limit of 1 they cannot reach the metadata service.
      imds_hops = 1
      # Memory oversubscription is on (sandboxes burst to memory_max): without a reserve the
      # host's own daemons (dockerd, containerd, the runsc shims, Consul, Nomad) would be
      # what runs out first.
      reserved_cpu    = 500
      reserved_memory = 1024
    }
  }
}

resource "aws_launch_template" "client" {
  for_each               = local.client_classes
  name_prefix            = "${var.name}-${each.key}-"
  image_id               = data.aws_ami.debian.id
  instance_type          = each.value.instance_type
  key_name               = var.ssh_key_name
  vpc_security_group_ids = each.value.security_groups

  iam_instance_profile {
    name = aws_iam_instance_profile.node[each.key].name
  }

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = each.value.imds_hops
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 40
      encrypted   = true
    }
  }

  user_data = base64encode(templatefile("${path.module}/templates/client.sh.tftpl", merge(local.template_vars, {
    install         = local.install_script
    node_class      = each.key
    port_from       = var.sandbox_port_range.from
    port_to         = var.sandbox_port_range.to
    reserved_cpu    = each.value.reserved_cpu
    reserved_memory = each.value.reserved_memory
    tokens_secret   = aws_secretsmanager_secret.client_tokens.arn
    region          = data.aws_region.current.name
  })))

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.common_tags, { Name = "${var.name}-${each.key}" })
  }
}

resource "aws_autoscaling_group" "proxy" {
  name                = "${var.name}-proxy"
  min_size            = var.proxy_count
  max_size            = var.proxy_count
  desired_capacity    = var.proxy_count
  vpc_zone_identifier = aws_subnet.private[*].id
  target_group_arns   = [aws_lb_target_group.pyplay.arn]
  # The target group checks /healthz (liveness), so "unhealthy" means the service is dead
  # and replacing the instance is right. Readiness (/readyz: at capacity, Nomad briefly
  # unreachable during a leader election) must never get a busy proxy and every
  # student socket on it replaced.
  health_check_type         = "ELB"
  health_check_grace_period = 300

  launch_template {
    id      = aws_launch_template.client["proxy"].id
    version = aws_launch_template.client["proxy"].latest_version
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
    }
  }
}

resource "aws_autoscaling_group" "sandbox" {
  name                = "${var.name}-sandbox"
  min_size            = var.sandbox_min_size
  max_size            = var.sandbox_max_size
  desired_capacity    = var.sandbox_min_size
  vpc_zone_identifier = aws_subnet.private[*].id

  launch_template {
    id      = aws_launch_template.client["sandbox"].id
    version = aws_launch_template.client["sandbox"].latest_version
  }

  lifecycle {
    # The Nomad Autoscaler owns the desired capacity once the cluster runs.
    ignore_changes = [desired_capacity]
  }
}
