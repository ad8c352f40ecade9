# One role per function, inline policies only (no managed-policy lookups), each allowing just
# what its handler does:
# - API: read the bucket; write <project>/<file> only when uploads are on; never .index/.
# - reindex: read the bucket; write and delete only under .index/; consume its queue (and send a
#   full rebuild's batches to it); send failures to the failures queue.
# Policies are built with jsonencode (not aws_iam_policy_document) so plan-level tests can read
# them under a mocked provider.

locals {
  objects_arn = "${local.bucket_arn}/*"
  index_arn   = "${local.bucket_arn}/${local.index_prefix}*"

  read_bucket = [
    {
      Sid      = "ReadObjects"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = [local.objects_arn]
    },
    {
      # Also turns a missing key into 404 instead of 403.
      Sid      = "ListBucket"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = [local.bucket_arn]
    },
  ]

  kms = var.kms_key_arn == null ? [] : [{
    Sid      = "UseKmsKey"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = [var.kms_key_arn]
  }]

  xray = var.tracing ? [{
    # X-Ray has no resource-level permissions.
    Sid      = "XRay"
    Effect   = "Allow"
    Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    Resource = ["*"]
  }] : []

  api_statements = concat(
    local.read_bucket,
    local.uploads_enabled ? [{
      Sid      = "UploadDistributions"
      Effect   = "Allow"
      Action   = ["s3:PutObject"]
      Resource = [local.objects_arn]
    }] : [],
    [
      {
        # The index is the reindex function's alone, even if a later statement widens writes.
        Sid      = "NeverWriteIndex"
        Effect   = "Deny"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = [local.index_arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.api.arn}:*"]
      },
    ],
    local.upstream_api_statements,
    local.kms,
    local.xray,
    local.upload_token_statements,
  )

  reindex_statements = concat(
    local.read_bucket,
    [
      {
        Sid      = "WriteIndex"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = [local.index_arn]
      },
      {
        # The event source mapping polls with the function's role; the function sends a full
        # rebuild's batches and shortens the wait of the messages it failed on.
        Sid      = "ConsumeQueue"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage", "sqs:ChangeMessageVisibility"]
        Resource = [aws_sqs_queue.reindex.arn]
      },
      {
        Sid      = "ReportFailures"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.reindex_failures.arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.reindex.arn}:*"]
      },
    ],
    local.kms,
    local.xray,
  )

  lambda_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role" "api" {
  name               = "${var.name}-api"
  description        = "serverless-pypi API function"
  assume_role_policy = local.lambda_trust
  tags               = local.tags
}

resource "aws_iam_role_policy" "api" {
  name   = "serverless-pypi-api"
  role   = aws_iam_role.api.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.api_statements })
}

resource "aws_iam_role" "reindex" {
  name               = "${var.name}-reindex"
  description        = "serverless-pypi reindex function"
  assume_role_policy = local.lambda_trust
  tags               = local.tags
}

resource "aws_iam_role_policy" "reindex" {
  name   = "serverless-pypi-reindex"
  role   = aws_iam_role.reindex.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.reindex_statements })
}
