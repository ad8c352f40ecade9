# S3 -> SNS -> SQS -> reindex Lambda. The queue turns a storm of events into batches: the event
# source mapping hands the function up to reindex_batch_size messages at once (waiting up to
# reindex_batching_window seconds to fill a batch), runs at most reindex_max_concurrency
# batches at a time, and retries only the messages a batch reports as failed. A message that
# failed reindex_max_receive_count times moves to the failures queue, which raises an alarm.
# SNS wraps each S3 event in its envelope (raw message delivery off): the handler reads both
# forms, and the envelope says which topic sent it. A full rebuild ({"reindex": "*"}) sends its
# batches of projects to this queue too (docs/architecture.md, "Event bursts").

locals {
  reindex_max_concurrency = coalesce(var.reindex_max_concurrency, max(2, min(10, coalesce(var.reindex_reserved_concurrency, 10))))
}

resource "aws_sqs_queue" "reindex" {
  name = "${var.name}-reindex"
  # AWS's advice for an event source: at least six times the function's timeout, so a batch
  # that is still running is never handed to a second invocation.
  visibility_timeout_seconds = min(43200, 6 * var.reindex_timeout)
  message_retention_seconds  = 345600 # 4 days, less than the failures queue keeps them
  sqs_managed_sse_enabled    = var.kms_key_arn == null ? true : null
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.reindex_failures.arn
    maxReceiveCount     = var.reindex_max_receive_count
  })
  tags = local.tags
}

resource "aws_sqs_queue_policy" "reindex" {
  queue_url = aws_sqs_queue.reindex.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowTheTopicOnly"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.reindex.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.events.arn } }
    }]
  })
}

resource "aws_sns_topic_subscription" "reindex_queue" {
  topic_arn            = aws_sns_topic.events.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.reindex.arn
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.reindex]
}

resource "aws_lambda_event_source_mapping" "reindex" {
  event_source_arn                   = aws_sqs_queue.reindex.arn
  function_name                      = aws_lambda_function.reindex.arn
  batch_size                         = var.reindex_batch_size
  maximum_batching_window_in_seconds = var.reindex_batching_window
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = local.reindex_max_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.reindex_batch_size <= 10 || var.reindex_batching_window >= 1
      error_message = "reindex_batch_size above 10 needs a reindex_batching_window of at least 1 second (an SQS event source rule)."
    }
    precondition {
      condition     = var.reindex_reserved_concurrency == null || var.reindex_max_concurrency == null || coalesce(var.reindex_max_concurrency, 0) <= coalesce(var.reindex_reserved_concurrency, 0)
      error_message = "reindex_max_concurrency must not exceed reindex_reserved_concurrency: batches beyond the reserved concurrency are throttled and retried."
    }
  }

  depends_on = [aws_iam_role_policy.reindex]
}

resource "aws_cloudwatch_metric_alarm" "reindex_failures" {
  alarm_name          = "${var.name}-reindex-failures"
  alarm_description   = "Reindex work failed repeatedly and waits in ${aws_sqs_queue.reindex_failures.name}; fix the cause, then redrive the queue or run serverless-pypi reindex."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.reindex_failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
