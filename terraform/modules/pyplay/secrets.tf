# The tokens every client needs to join an ACL-enabled cluster, kept where an instance the
# autoscaling group launches can read them itself: no hand step per node.
#
# Terraform creates the secret empty (the tokens exist only once the ACLs are bootstrapped).
# After `consul acl bootstrap` / `nomad acl bootstrap`, an operator stores the two client
# tokens once, for the whole cluster (docs/operators.md, "Tokens for the clients"):
#
#   aws secretsmanager put-secret-value --secret-id <client_tokens_secret_arn> \
#     --secret-string '{"consul_agent_token": "...", "nomad_consul_token": "..."}'
#
# Each client's user data fetches it with its instance role before Consul and Nomad start
# (and waits for it while it is still empty). Containers cannot: the sandbox clients'
# metadata hop limit is 1, and the proxy clients' autoscaler task is the only container
# there with a route to it.

resource "aws_secretsmanager_secret" "client_tokens" {
  name_prefix             = "${var.name}-client-tokens-"
  description             = "pyplay: Consul agent token and Nomad's Consul token for Nomad clients (JSON)."
  recovery_window_in_days = 7
  tags                    = local.common_tags
}

data "aws_iam_policy_document" "client_tokens" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.client_tokens.arn]
  }
}

resource "aws_iam_role_policy" "client_tokens" {
  for_each = toset(["proxy", "sandbox"])
  name     = "client-tokens"
  role     = aws_iam_role.node[each.key].id
  policy   = data.aws_iam_policy_document.client_tokens.json
}

data "aws_region" "current" {}
