# S3 -> SNS -> SQS -> reindex Lambda (queue.tf). The topic lets other consumers subscribe to
# package events too.
# Notifications are not filtered: S3 filters only match prefixes and suffixes, so events about
# .index/ arrive as well and the reindex handler ignores them.

resource "aws_sns_topic" "events" {
  #checkov:skip=CKV_AWS_26:S3 cannot publish to a topic encrypted with the AWS-managed key; set kms_key_arn to a customer key whose policy admits S3 to encrypt it.
  name              = "${var.name}-events"
  kms_master_key_id = var.kms_key_arn
  tags              = local.tags
}

resource "aws_sns_topic_policy" "events" {
  arn = aws_sns_topic.events.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowThisBucketOnly"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "SNS:Publish"
      Resource  = aws_sns_topic.events.arn
      Condition = {
        ArnEquals    = { "aws:SourceArn" = local.bucket_arn }
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    }]
  })
}

resource "aws_s3_bucket_notification" "events" {
  bucket = local.bucket_name

  topic {
    topic_arn = aws_sns_topic.events.arn
    events    = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
  }

  # S3 checks on creation that it may publish.
  depends_on = [aws_sns_topic_policy.events]
}
