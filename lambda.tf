# The two functions. Both run the same code zip and layer; each has its own role, log group and
# exactly the environment variables its handler reads (src/serverless_pypi/config.py; a test
# checks both sides).

resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days input (default 30 days); a year of request logs is the user's choice, not a default.
  name              = "/aws/lambda/${local.api_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "reindex" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days input (default 30 days); a year of reindex logs is the user's choice, not a default.
  name              = "/aws/lambda/${local.reindex_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_117:The function only talks to S3 through its role; a VPC would add NAT or endpoint costs and cold-start latency for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this module's sources at apply time.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_115:Concurrency of the API follows request volume; reserving it would take from the account pool for every deployment.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is the tracing input, off by default for cost.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (bucket name, TTL, URLs, switches, publishers, the upload-token key's ARN: the key stays in KMS); kms_key_arn encrypts it with a customer key when set.
  function_name = local.api_function_name
  description   = "serverless-pypi: the simple index API"
  role          = aws_iam_role.api.arn
  handler       = "serverless_pypi.api.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = var.api_memory_size
  timeout       = var.api_timeout

  filename         = local.function_zip
  source_code_hash = local.function_hash
  layers           = [aws_lambda_layer_version.dependencies.arn]

  environment {
    variables = {
      SERVERLESS_PYPI_BUCKET             = local.bucket_name
      SERVERLESS_PYPI_URL_TTL            = tostring(var.url_ttl)
      SERVERLESS_PYPI_FALLBACK_INDEX_URL = var.fallback_index_url != null ? var.fallback_index_url : ""
      SERVERLESS_PYPI_UPLOADS            = var.uploads
      SERVERLESS_PYPI_LOG_LEVEL          = var.log_level
      # A CUSTOM (Lambda) authorizer passes its verdict as context; the handler answers
      # 401/403 from it (see docs/auth.md). Other authorizer types deny at the gateway.
      SERVERLESS_PYPI_AUTH = var.authorization_type == "CUSTOM" ? "basic" : "none"
      # The upstream proxy (upstream.tf); empty values leave it off.
      SERVERLESS_PYPI_UPSTREAM_INDEX_URL     = local.upstream_enabled ? var.upstream_index_url : ""
      SERVERLESS_PYPI_UPSTREAM_BLOCK         = join(",", var.upstream_block)
      SERVERLESS_PYPI_UPSTREAM_MIN_AGE       = var.upstream_min_age
      SERVERLESS_PYPI_UPSTREAM_PAGE_TTL      = var.upstream_page_ttl
      SERVERLESS_PYPI_UPSTREAM_COPY_FUNCTION = local.upstream_enabled ? local.upstream_copy_function_name : ""
      # Trusted publishing and per-group upload rights (publishing.tf, docs/auth.md).
      SERVERLESS_PYPI_TRUSTED_PUBLISHERS  = local.trusted_publishing ? jsonencode(var.trusted_publishers) : ""
      SERVERLESS_PYPI_OIDC_AUDIENCE       = local.oidc_audience
      SERVERLESS_PYPI_UPLOAD_TOKEN_KEY_ID = local.trusted_publishing ? local.upload_token_key : ""
      SERVERLESS_PYPI_UPLOAD_TOKEN_TTL    = tostring(var.upload_token_ttl)
      SERVERLESS_PYPI_UPLOAD_PERMISSIONS  = jsonencode(var.upload_permissions)
    }
  }
  kms_key_arn = var.kms_key_arn

  tracing_config {
    mode = var.tracing ? "Active" : "PassThrough"
  }

  tags       = local.tags
  depends_on = [terraform_data.build, aws_cloudwatch_log_group.api, aws_iam_role_policy.api]
}

resource "aws_lambda_function" "reindex" {
  #checkov:skip=CKV_AWS_117:The function only talks to S3 and SQS through its role; a VPC would add NAT or endpoint costs for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this module's sources at apply time.
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to an SQS on-failure destination (aws_lambda_function_event_invoke_config.reindex), the successor of dead_letter_config.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is the reindex_reserved_concurrency input; unreserved by default so a small account is not starved.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is the tracing input, off by default for cost.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (bucket name, log level); kms_key_arn encrypts it with a customer key when set.
  function_name = local.reindex_function_name
  description   = "serverless-pypi: keeps the derived index data under .index/ up to date"
  role          = aws_iam_role.reindex.arn
  handler       = "serverless_pypi.reindex.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  memory_size   = var.reindex_memory_size
  timeout       = var.reindex_timeout

  filename         = local.function_zip
  source_code_hash = local.function_hash
  layers           = [aws_lambda_layer_version.dependencies.arn]

  reserved_concurrent_executions = var.reindex_reserved_concurrency

  environment {
    variables = {
      SERVERLESS_PYPI_BUCKET          = local.bucket_name
      SERVERLESS_PYPI_LOG_LEVEL       = var.log_level
      SERVERLESS_PYPI_QUEUE_URL       = aws_sqs_queue.reindex.url
      SERVERLESS_PYPI_WEB_IMAGE_HOSTS = join(",", var.web_image_hosts)
      # The upstream proxy's pages are rendered by this function (upstream.tf).
      SERVERLESS_PYPI_UPSTREAM_INDEX_URL = local.upstream_enabled ? var.upstream_index_url : ""
      SERVERLESS_PYPI_UPSTREAM_MIN_AGE   = var.upstream_min_age
    }
  }
  kms_key_arn = var.kms_key_arn

  tracing_config {
    mode = var.tracing ? "Active" : "PassThrough"
  }

  tags       = local.tags
  depends_on = [terraform_data.build, aws_cloudwatch_log_group.reindex, aws_iam_role_policy.reindex]
}

# Reindex work that kept failing ends up here, to be redriven or inspected: queue messages after
# reindex_max_receive_count receives (queue.tf), and asynchronous invocations (a manual
# {"reindex": ...} sent as an event) after Lambda's two retries.
resource "aws_sqs_queue" "reindex_failures" {
  name                      = "${var.name}-reindex-failures"
  message_retention_seconds = 1209600 # 14 days, the maximum
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = local.tags
}

resource "aws_lambda_function_event_invoke_config" "reindex" {
  function_name                = aws_lambda_function.reindex.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.reindex_failures.arn
    }
  }
}
