from mauntic.cli import app

app()
