# docs/api/openapi.yaml (zerod's) and docs/api/card.yaml (zero-card's) must stay valid OpenAPI 3.0
# documents (Debian: libjson-validator-perl libyaml-pp-perl; the test fails, it does not skip, when
# they are missing).
zero_integration_test(openapi_lint ${CMAKE_CURRENT_SOURCE_DIR}/integration/openapi_lint.sh TIMEOUT 60)
# The layers of docs/architecture.md: no include points up, no HTTP status below the HTTP front.
zero_integration_test(layers_lint ${CMAKE_CURRENT_SOURCE_DIR}/integration/layers_lint.sh TIMEOUT 60)
# The router and docs/api/openapi.yaml list the same paths and methods (issue 16).
zero_integration_test(routes_openapi ${CMAKE_CURRENT_SOURCE_DIR}/integration/routes_openapi.sh TIMEOUT 60)
