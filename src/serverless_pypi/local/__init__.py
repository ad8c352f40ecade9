"""``serverless-pypi serve``: the Lambda handlers behind a local HTTP server and an embedded moto.

The chain is the AWS one: HTTP request → payload-2.0 event → API handler (after the Lambda
authorizer with ``--auth``), and S3 event → SNS topic → SQS queue → batches of Lambda SQS
events → reindex handler.

``serve`` runs the command (signals, logging, the printed lines); ``options`` parses it;
``stack`` starts and stops the pieces in order; ``auth`` wires the embedded Cognito and the
authorizer; ``emulator`` is moto; ``server`` and ``events`` turn HTTP into Lambda events;
``sqs`` polls the reindex queue as the event source mapping would; ``persistence`` and ``cognito``
keep the bucket and the users in the data directory.
"""
