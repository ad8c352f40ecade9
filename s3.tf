# The bucket: distributions at <project>/<file>, derived data under .index/.
# With create_bucket = false an existing bucket is used as it is and only its notifications are
# managed here.

data "aws_s3_bucket" "existing" {
  count  = var.create_bucket ? 0 : 1
  bucket = var.bucket_name

  lifecycle {
    precondition {
      condition     = var.bucket_name != null
      error_message = "bucket_name is required when create_bucket is false."
    }
  }
}

locals {
  bucket_name = var.create_bucket ? aws_s3_bucket.this[0].id : data.aws_s3_bucket.existing[0].id
  bucket_arn  = var.create_bucket ? aws_s3_bucket.this[0].arn : data.aws_s3_bucket.existing[0].arn
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket the user owns; API Gateway access logs and CloudTrail data events cover reads and writes.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice for the user; versioning already protects against deletes.
  #checkov:skip=CKV_AWS_145:Encrypted by default with SSE-S3; SSE-KMS with a customer key is the kms_key_arn option.
  count = var.create_bucket ? 1 : 0

  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? "${var.name}-" : null
  force_destroy = var.force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  # Noncurrent versions are what restores a deleted or pruned file (README, "Restoring pruned
  # files"): kept unless noncurrent_version_expiration_days asks for them to expire.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    dynamic "noncurrent_version_expiration" {
      for_each = var.noncurrent_version_expiration_days == null ? [] : [var.noncurrent_version_expiration_days]
      content {
        noncurrent_days = noncurrent_version_expiration.value
      }
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# The trust boundary of .index/ (docs/architecture.md): whoever may write <project>/ and .yanked/
# publishes, but the derived data the API serves from is written only by the reindex role and
# the roles named in index_admin_role_arns. A Deny in the bucket policy holds against every
# identity policy, including the broad s3:PutObject on the bucket that the CLI needs.
# aws:PrincipalArn is the role's ARN for any session of it; an anonymous request has none, and a
# negated condition on a missing key matches, so it is denied too. The condition names ARNs, not
# principals, so re-creating a role does not break it.
locals {
  index_admin_role_arns = concat([aws_iam_role.reindex.arn], var.index_admin_role_arns)

  index_write_deny_statement = {
    Sid       = "DenyIndexWritesExceptReindex"
    Effect    = "Deny"
    Principal = "*"
    # PutObject also covers CopyObject into .index/ and every multipart step that writes
    # (CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload).
    Action = [
      "s3:PutObject",
      "s3:PutObjectAcl",
      "s3:PutObjectVersionAcl",
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:ReplicateObject",
      "s3:ReplicateDelete",
    ]
    Resource  = [local.index_arn]
    Condition = { ArnNotLike = { "aws:PrincipalArn" = local.index_admin_role_arns } }
  }
}

# One policy per bucket, so it is managed only for a bucket the module creates: on an existing
# bucket it would replace the owner's policy. There, add the index_write_deny_statement output to
# your own policy.
resource "aws_s3_bucket_policy" "this" {
  count  = var.create_bucket ? 1 : 0
  bucket = aws_s3_bucket.this[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this[0].arn, "${aws_s3_bucket.this[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      local.index_write_deny_statement,
    ], local.upstream_enabled ? [local.upstream_write_deny_statement] : [])
  })

  # A policy change while the public access block is being created is refused by S3.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

moved {
  from = aws_s3_bucket_policy.tls_only
  to   = aws_s3_bucket_policy.this
}
