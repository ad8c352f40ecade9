"""A private Python package index on AWS Lambda and S3."""
