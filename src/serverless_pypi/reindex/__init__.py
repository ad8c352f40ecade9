"""The reindex Lambda: keeps the derived data under ``.index/`` in step with the bucket.

``serverless_pypi.reindex.handler`` is the function's handler string in Terraform.
"""

from serverless_pypi.reindex.app import handler

__all__ = ["handler"]
