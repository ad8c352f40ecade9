# The smallest working deployment: a new HTTP API with a $default stage, and the index on it.
# Reads are open to anyone who knows the URL; see ../complete for an authorizer and uploads.

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

variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "us-east-1"
}

resource "aws_apigatewayv2_api" "index" {
  name          = "serverless-pypi"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.index.id
  name        = "$default"
  auto_deploy = true
}

module "pypi" {
  source = "../.."

  api_id            = aws_apigatewayv2_api.index.id
  api_execution_arn = aws_apigatewayv2_api.index.execution_arn
  api_endpoint      = aws_apigatewayv2_stage.default.invoke_url
}

output "index_url" {
  description = "pip install --index-url <this> ..."
  value       = module.pypi.index_url
}

output "bucket_name" {
  description = "Upload distributions to <project>/<file> in this bucket."
  value       = module.pypi.bucket_name
}
