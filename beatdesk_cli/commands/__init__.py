"""One module per command group; `beatdesk_cli.main` loads only the one a command line names.

Imports of the workers, the planner, the renderers and the web app stay inside the commands that use them:
they load Celery, SciPy, Pillow or FastAPI, which `queue list` or `post show` never need."""
