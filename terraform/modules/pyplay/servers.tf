# Three (or five) servers, each running a Nomad server and a Consul server, one per
# availability zone in turn. They find each other by the "pyplay-server" tag.

data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian's official AWS account

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  join_tag = { key = "pyplay-server", value = var.name }
  template_vars = {
    name           = var.name
    join_tag_key   = local.join_tag.key
    join_tag_value = local.join_tag.value
    nomad_version  = var.nomad_version
    consul_version = var.consul_version
  }
  install_script = templatefile("${path.module}/templates/install.sh.tftpl", local.template_vars)
}

resource "aws_instance" "server" {
  count                  = var.server_count
  ami                    = data.aws_ami.debian.id
  instance_type          = var.server_instance_type
  subnet_id              = aws_subnet.private[count.index % local.az_count].id
  vpc_security_group_ids = [aws_security_group.cluster.id]
  iam_instance_profile   = aws_iam_instance_profile.node["server"].name
  key_name               = var.ssh_key_name

  user_data = templatefile("${path.module}/templates/server.sh.tftpl", merge(local.template_vars, {
    install      = local.install_script
    server_count = var.server_count
  }))

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size = 20
    encrypted   = true
  }

  tags = merge(local.common_tags, {
    Name                 = "${var.name}-server-${count.index}"
    (local.join_tag.key) = local.join_tag.value
  })

  lifecycle {
    # A new AMI must not replace all servers at once (that loses the Raft quorum):
    # replace them one by one with `terraform apply -replace=...server[N]`.
    ignore_changes = [ami, user_data]
  }
}
