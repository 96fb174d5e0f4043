# Instance roles. Every node may list instances (Nomad and Consul's cloud auto-join) and
# be reached through SSM Session Manager. The proxy clients, where the Nomad Autoscaler
# runs, may also resize the sandbox clients' autoscaling group.

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "auto_join" {
  statement {
    actions   = ["ec2:DescribeInstances", "ec2:DescribeTags", "autoscaling:DescribeAutoScalingGroups"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "autoscaler" {
  statement {
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeScalingActivities",
    ]
    resources = ["*"]
  }

  statement {
    actions = [
      "autoscaling:UpdateAutoScalingGroup",
      "autoscaling:CreateOrUpdateTags",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = [aws_autoscaling_group.sandbox.arn]
  }
}

locals {
  roles = toset(["server", "proxy", "sandbox"])
}

resource "aws_iam_role" "node" {
  for_each           = local.roles
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = local.common_tags
}

resource "aws_iam_role_policy" "auto_join" {
  for_each = local.roles
  name     = "auto-join"
  role     = aws_iam_role.node[each.key].id
  policy   = data.aws_iam_policy_document.auto_join.json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  for_each   = local.roles
  role       = aws_iam_role.node[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "autoscaler" {
  name   = "nomad-autoscaler"
  role   = aws_iam_role.node["proxy"].id
  policy = data.aws_iam_policy_document.autoscaler.json
}

resource "aws_iam_instance_profile" "node" {
  for_each = local.roles
  name     = "${var.name}-${each.key}"
  role     = aws_iam_role.node[each.key].name
}
