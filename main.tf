# serverless-pypi: a private Python package index on Lambda + S3, served from the user's HTTP API.
#
# Files: s3.tf (bucket and hardening), notifications.tf (S3 -> SNS -> reindex), lambda.tf (the two
# functions, logs, failure queue), iam.tf (one least-privilege role per function), api.tf (routes
# on the user's API), package.layer.tf (zips built at apply time).

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id

  api_function_name     = "${var.name}-api"
  reindex_function_name = "${var.name}-reindex"

  uploads_enabled = var.uploads != "off"
  base_url        = trimsuffix(var.api_endpoint, "/")

  # Where distributions live (<project>/<file>) and where the reindex Lambda writes derived data.
  # Project names start with a letter or digit, so they can never collide with this prefix.
  index_prefix = ".index/"

  tags = var.tags
}
