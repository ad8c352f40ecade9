"""The Cognito Basic-auth Lambda authorizer (``modules/cognito``).

``serverless_pypi.authorizer.handler`` is the function's handler string in Terraform.
"""

from serverless_pypi.authorizer.app import handler

__all__ = ["handler"]
