"""One settings package: the environment decides between the embedded default and production.

`config.settings.base` is the settings module of every process. With no variables set, everything
runs on one machine without servers (SQLite, a filesystem Celery transport, local-memory cache,
console e-mail, local media). Each production service is switched on by its own variable
(DATABASE_URL, REDIS_URL, STORAGE_S3/AWS_*, ANYMAIL_*). `config.settings.test` is the suite's.
"""
