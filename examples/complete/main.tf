# Everything switched on: twine uploads behind a JWT authorizer, a fallback index, custom names,
# tags, X-Ray tracing, longer log retention and capped reindex concurrency.

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

resource "aws_apigatewayv2_authorizer" "jwt" {
  api_id           = aws_apigatewayv2_api.index.id
  name             = "${var.name}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = var.jwt_audience
  }
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.index.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags
}

module "pypi" {
  source = "../.."

  name        = var.name
  bucket_name = var.bucket_name
  tags        = var.tags

  api_id             = aws_apigatewayv2_api.index.id
  api_execution_arn  = aws_apigatewayv2_api.index.execution_arn
  api_endpoint       = aws_apigatewayv2_stage.default.invoke_url
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id

  # Every route, POST included, is behind the JWT authorizer at the gateway, so the handler
  # need not check again. (A CUSTOM authorizer would pass the caller's roles instead.)
  uploads            = "unauthenticated-insecure"
  fallback_index_url = "https://pypi.org/simple/"
  url_ttl            = 300
  log_level          = "INFO"

  architecture                 = "arm64"
  api_memory_size              = 1024
  reindex_reserved_concurrency = 2
  tracing                      = true
  log_retention_days           = 90

  noncurrent_version_expiration_days     = 90
  abort_incomplete_multipart_upload_days = 3
}
