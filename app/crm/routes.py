from flask import Blueprint

bp = Blueprint("crm", __name__)
public_bp = Blueprint("crm_public", __name__)
