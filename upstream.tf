# The upstream proxy (upstream_index_url): the API serves projects that have no private file from
# an upstream index, caching pages under .upstream/ in the bucket; a first download is redirected
# upstream and the copy function, invoked asynchronously by the API, keeps the file under
# .upstream/files/ (sha256-checked) for every later download. The copy is its own function
# because it may need Lambda's 15 minutes for a large wheel, and the API's timeout is bounded by
# API Gateway's 30 s. Both functions then need outbound internet (see docs/terraform.md for a
# VPC: a NAT gateway or an egress proxy).

locals {
  upstream_enabled             = var.upstream_index_url != null && var.upstream_index_url != ""
  upstream_copy_function_name  = "${var.name}-upstream-copy"
  upstream_prefix              = ".upstream/"
  upstream_arn                 = "${local.bucket_arn}/${local.upstream_prefix}*"
  upstream_files_arn           = "${local.bucket_arn}/${local.upstream_prefix}files/*"
  upstream_copy_function_count = local.upstream_enabled ? 1 : 0

  # The API writes the fetched documents and METADATA, never the copies (the copy function's)
  # nor the pages (the reindex function renders them from the documents, under .index/); it
  # may start a copy.
  upstream_api_statements = local.upstream_enabled ? [
    {
      Sid    = "WriteUpstreamCache"
      Effect = "Allow"
      Action = ["s3:PutObject"]
      Resource = [for part in ["projects", "metadata"] :
      "${local.bucket_arn}/${local.upstream_prefix}${part}/*"]
    },
    {
      Sid      = "StartUpstreamCopy"
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = [aws_lambda_function.upstream_copy[0].arn]
    },
  ] : []

  upstream_copy_statements = concat(
    [
      {
        # HeadObject (is the copy there?) and the multipart upload of the copy.
        Sid      = "KeepUpstreamFiles"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = [local.upstream_files_arn]
      },
      {
        # A HEAD on a missing key answers 404 rather than 403 only with ListBucket.
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [local.bucket_arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = local.upstream_enabled ? ["${aws_cloudwatch_log_group.upstream_copy[0].arn}:*"] : []
      },
    ],
    local.kms,
    local.xray,
  )

  # Like .index/, the cache is served as stored: only the API and copy roles (and the index
  # admins) may write it, whatever other identity policies allow (in the module's bucket policy).
  upstream_write_deny_statement = {
    Sid       = "DenyUpstreamCacheWritesExceptProxy"
    Effect    = "Deny"
    Principal = "*"
    Action    = local.index_write_deny_statement.Action
    Resource  = [local.upstream_arn]
    Condition = { ArnNotLike = { "aws:PrincipalArn" = concat(
      [aws_iam_role.api.arn],
      local.upstream_enabled ? [aws_iam_role.upstream_copy[0].arn] : [],
      var.index_admin_role_arns,
    ) } }
  }
}

resource "aws_cloudwatch_log_group" "upstream_copy" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days input (default 30 days); a year of copy logs is the user's choice, not a default.
  count             = local.upstream_copy_function_count
  name              = "/aws/lambda/${local.upstream_copy_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_iam_role" "upstream_copy" {
  count              = local.upstream_copy_function_count
  name               = "${var.name}-upstream-copy"
  description        = "serverless-pypi upstream copy function"
  assume_role_policy = local.lambda_trust
  tags               = local.tags
}

resource "aws_iam_role_policy" "upstream_copy" {
  count  = local.upstream_copy_function_count
  name   = "serverless-pypi-upstream-copy"
  role   = aws_iam_role.upstream_copy[0].id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.upstream_copy_statements })
}

resource "aws_lambda_function" "upstream_copy" {
  #checkov:skip=CKV_AWS_117:The function fetches from the upstream index on the internet; in a VPC it needs a NAT gateway (docs/terraform.md), a cost the user chooses.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this module's sources at apply time.
  #checkov:skip=CKV_AWS_116:A copy that fails is not lost work: the next download of the file redirects upstream again and starts a new copy; retries are in aws_lambda_function_event_invoke_config.upstream_copy.
  #checkov:skip=CKV_AWS_115:Copies follow first downloads; reserving concurrency would take from the account pool for every deployment.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is the tracing input, off by default for cost.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (bucket name, upstream URL, log level); kms_key_arn encrypts it with a customer key when set.
  count         = local.upstream_copy_function_count
  function_name = local.upstream_copy_function_name
  description   = "serverless-pypi: keeps copies of upstream files under .upstream/files/"
  role          = aws_iam_role.upstream_copy[0].arn
  handler       = "serverless_pypi.upstream.copy.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = 512
  timeout       = 900 # Lambda's longest: a large wheel from a slow upstream

  filename         = local.function_zip
  source_code_hash = local.function_hash
  layers           = [aws_lambda_layer_version.dependencies.arn]

  environment {
    variables = {
      SERVERLESS_PYPI_BUCKET             = local.bucket_name
      SERVERLESS_PYPI_LOG_LEVEL          = var.log_level
      SERVERLESS_PYPI_UPSTREAM_INDEX_URL = var.upstream_index_url
    }
  }
  kms_key_arn = var.kms_key_arn

  tracing_config {
    mode = var.tracing ? "Active" : "PassThrough"
  }

  lifecycle {
    precondition {
      condition     = var.fallback_index_url == null || var.fallback_index_url == ""
      error_message = "upstream_index_url replaces fallback_index_url (the redirect fallback): set only one of them."
    }
  }

  tags       = local.tags
  depends_on = [terraform_data.build, aws_cloudwatch_log_group.upstream_copy, aws_iam_role_policy.upstream_copy]
}

resource "aws_lambda_function_event_invoke_config" "upstream_copy" {
  count                        = local.upstream_copy_function_count
  function_name                = aws_lambda_function.upstream_copy[0].function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 3600
}
