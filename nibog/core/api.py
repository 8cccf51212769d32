"""flask-smorest Api whose errors use the contract's JSON shape."""

from flask_smorest import Api as SmorestApi


class Api(SmorestApi):
    def handle_http_exception(self, error):
        from nibog.core.errors import http_exception_to_response, wants_json

        if wants_json():
            return http_exception_to_response(error)
        from flask import render_template

        return render_template(
            "errors/error.html", status=error.code, message=error.description
        ), error.code
