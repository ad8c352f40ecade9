# Everything switched on: HTTP Basic authentication against a Cognito user pool (modules/cognito)
# on every route, uploads for the uploaders group, the upstream proxy of PyPI (with a reserved
# namespace and a 72-hour cooldown), custom names, tags, X-Ray tracing, longer log retention,
# larger reindex batches and capped reindex concurrency.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

resource "aws_apigatewayv2_api" "index" {
  name          = var.name
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.index.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags
}

# The user pool, the uploaders group and the Lambda authorizer that checks pip's and twine's
# Basic credentials against it. It runs the index's own code zip and layer.
module "cognito" {
  source = "../../modules/cognito"

  name              = var.name
  api_id            = aws_apigatewayv2_api.index.id
  api_execution_arn = aws_apigatewayv2_api.index.execution_arn
  lambda_package    = module.pypi.lambda_package
  tags              = var.tags

  deletion_protection = var.deletion_protection
  auth_cache_ttl      = 300
  tracing             = true
  log_retention_days  = 90
}

module "pypi" {
  source = "../.."

  name        = var.name
  bucket_name = var.bucket_name
  tags        = var.tags

  # The bucket policy lets only the reindex function and these roles write .index/.
  index_admin_role_arns = var.index_admin_role_arns

  api_id            = aws_apigatewayv2_api.index.id
  api_execution_arn = aws_apigatewayv2_api.index.execution_arn
  api_endpoint      = aws_apigatewayv2_stage.default.invoke_url

  # Every route goes through the Basic-auth authorizer; any user of the pool may read, members
  # of its uploaders group may also upload.
  authorization_type = module.cognito.authorization_type
  authorizer_id      = module.cognito.authorizer_id
  uploads            = "authenticated"

  # One index URL for everything: PyPI through the proxy, never for names under acme-*.
  upstream_index_url = "https://pypi.org/simple/"
  upstream_block     = ["acme-*"]
  upstream_min_age   = "72h"
  url_ttl            = 300
  log_level          = "INFO"

  architecture                 = "arm64"
  api_memory_size              = 1024
  reindex_reserved_concurrency = 2
  reindex_max_concurrency      = 2
  reindex_batch_size           = 200
  reindex_batching_window      = 2
  tracing                      = true
  log_retention_days           = 90

  noncurrent_version_expiration_days     = 90
  abort_incomplete_multipart_upload_days = 3

  # This repository's release workflow publishes acme-widgets* without a password (trusted
  # publishing, README "Publish from GitHub Actions"); team-a may upload acme-a-* only.
  trusted_publishers = [{
    issuer   = "https://token.actions.githubusercontent.com"
    claims   = { repository = "acme/widgets", workflow_ref = "acme/widgets/.github/workflows/release.yml@refs/heads/main" }
    projects = ["acme-widgets", "acme-widgets-*"]
  }]
  upload_permissions = { "team-a" = ["acme-a-*"] }
}
