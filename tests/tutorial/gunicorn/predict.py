# A churn model of the kind the tutorials ship with gunicorn: a logistic
# regression whose weights are written out instead of unpickled.
import math

from flask import Flask, jsonify, request

app = Flask("churn")

WEIGHTS = {"tenure": -0.05, "monthlycharges": 0.03, "contract_monthly": 1.2}
BIAS = -1.5


@app.route("/predict", methods=["POST"])
def predict():
    customer = request.get_json()
    z = BIAS + sum(w * float(customer.get(name, 0)) for name, w in WEIGHTS.items())
    probability = 1 / (1 + math.exp(-z))
    return jsonify({"churn_probability": probability, "churn": probability >= 0.5})
