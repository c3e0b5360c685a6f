"""The hello-http greeting as such apps are containerised today: Flask under
gunicorn. For bench/http.sh only."""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return f"{os.environ.get('GREETING', 'Hello')} from wbox!\n", 200, {"content-type": "text/plain"}
