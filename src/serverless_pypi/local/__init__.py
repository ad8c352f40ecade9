"""``serverless-pypi serve``: the Lambda handlers behind a local HTTP server and an embedded moto.

The chain is the AWS one (design notes §6): HTTP request → payload-2.0 event → API handler, and
S3 event → SNS topic → HTTP subscription → Lambda SNS event → reindex handler.
"""
