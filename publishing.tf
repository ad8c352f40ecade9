# Trusted publishing: CI jobs exchange their OIDC token at /_/oidc/mint-token for a short-lived
# upload token (docs/auth.md). Tokens are MAC'd with a KMS HMAC key: the key never leaves KMS
# (not in Lambda memory, not in Terraform state) and the API role may only GenerateMac and
# VerifyMac with it. Created only when trusted_publishers is set.

locals {
  trusted_publishing = length(var.trusted_publishers) > 0
  oidc_audience      = coalesce(var.oidc_audience, var.name)
  upload_token_key   = one(aws_kms_key.upload_tokens[*].arn)

  upload_token_statements = local.trusted_publishing ? [{
    Sid      = "UploadTokens"
    Effect   = "Allow"
    Action   = ["kms:GenerateMac", "kms:VerifyMac"]
    Resource = [local.upload_token_key]
  }] : []
}

resource "aws_kms_key" "upload_tokens" {
  #checkov:skip=CKV_AWS_7:HMAC keys do not support automatic rotation; upload tokens live minutes, so a new key (taint) only ends the tokens in flight.
  count = local.trusted_publishing ? 1 : 0

  description              = "${var.name}: MACs short-lived upload tokens (trusted publishing)"
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
  deletion_window_in_days  = 7
  # The account administers the key (the default key policy); use is granted by IAM: only the
  # API role's policy allows GenerateMac/VerifyMac.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.uploads != "off"
      error_message = "trusted_publishers needs uploads on (\"authenticated\" or \"unauthenticated-insecure\"): minted tokens are for uploads."
    }
  }
}

data "aws_partition" "current" {}
