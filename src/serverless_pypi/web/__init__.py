"""Pages for people and the PyPI JSON API, beside the simple API.

The reindexer renders them (``index.pages``, called where a project's simple pages are
rendered) and stores them under ``layout.WEB_PREFIX``; the API serves a stored page with one S3
read. Only the welcome page is put together per request, from the catalog shards (``home``),
with nothing but the standard library. Rendering libraries (readme-renderer, nh3) are imported
by ``readme`` alone, on the reindex path.
"""
