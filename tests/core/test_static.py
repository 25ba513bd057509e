"""The production static build: every file the manifest storage post-processes (CSS url()s,
JS source maps, vendored libraries) resolves, so `collectstatic` of a deployment succeeds."""

from django.core.management import call_command


def test_collectstatic_with_the_production_manifest_storage(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.WHITENOISE_KEEP_ONLY_HASHED_FILES = True
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    for asset in ("vendor/chartjs/chart.umd.min.js", "analytics/charts.js", "desk/rules.js"):
        assert f'"{asset}"' in manifest
