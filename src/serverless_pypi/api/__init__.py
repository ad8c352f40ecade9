"""The API Lambda: the simple repository API, file downloads and uploads over API Gateway.

``serverless_pypi.api.handler`` is the function's handler string in Terraform.
"""

from serverless_pypi.api.app import handler

__all__ = ["handler"]
