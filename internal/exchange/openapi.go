package exchange

import (
	"encoding/json"
	"slices"
	"strings"
)

// OpenAPI returns the API's OpenAPI 3.1 document, made from the catalogue:
// each service's answer is a schema of its own (population.person.v1, ...)
// and the query's data is any of them.
func (s *Service) OpenAPI() ([]byte, error) {
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	problem := map[string]any{"description": "An RFC 9457 problem", "content": map[string]any{
		"application/problem+json": map[string]any{"schema": ref("Problem")}}}
	schemas := map[string]any{
		"Problem": map[string]any{"type": "object", "properties": map[string]any{
			"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"}, "status": map[string]any{"type": "integer"},
			"detail": map[string]any{"type": "string"}, "instance": map[string]any{"type": "string"},
			"code":       map[string]any{"type": "string", "description": "stable machine-readable code: invalid, unauthenticated, forbidden, not_found, ..."},
			"request_id": map[string]any{"type": "string"}}},
		"Purpose": map[string]any{"type": "object", "required": []any{"code", "title"}, "properties": map[string]any{
			"code": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"}}},
		"Service": map[string]any{"type": "object", "required": []any{"code", "version", "provider", "fields"}, "properties": map[string]any{
			"code": map[string]any{"type": "string"}, "version": map[string]any{"type": "integer"}, "title": map[string]any{"type": "string"},
			"provider": map[string]any{"type": "string", "description": "code of the agency that answers"},
			"subject":  map[string]any{"type": "string", "enum": []any{SubjectPerson, SubjectOrganisation}},
			"list":     map[string]any{"type": "boolean"},
			"fields":   map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			"schema":   map[string]any{"type": "string", "format": "uri"}}},
		"QueryRequest": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"service", "subject", "purpose", "case_ref"},
			"properties": map[string]any{
				"service": map[string]any{"type": "string", "description": "a service code, or CODE@PEER for a peer province's service",
					"examples": []any{"population.person", "insurance.card@songxanh"}},
				"subject": map[string]any{"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
					"properties": map[string]any{
						SubjectPerson:       map[string]any{"type": "string", "pattern": "^[0-9]{12}$"},
						SubjectOrganisation: map[string]any{"type": "string", "pattern": "^[0-9]{10}$"}}},
				"purpose":  map[string]any{"type": "string", "description": "a code of GET /purposes"},
				"case_ref": map[string]any{"type": "string", "minLength": 1, "maxLength": MaxCaseRef, "description": "the application, document or inspection the query serves"}}},
		"Receipt": map[string]any{"type": "string", "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
			"description": "compact JWS (typ " + ReceiptType + ") signed with the provider agency's seal, x5c to the province's root; " +
				"payload: iss, provider, consumer, service, subject, purpose, case_ref, iat, data_sha256 (unpadded base64url SHA-256 of the exact bytes of data), fields, jti"},
	}
	var anyOf []any
	for _, sp := range s.cat.Specs() {
		schemas[sp.SchemaName()] = sp.Schema()
		anyOf = append(anyOf, ref(sp.SchemaName()))
	}
	schemas["QueryAnswer"] = map[string]any{"type": "object", "required": []any{"data", "receipt"}, "properties": map[string]any{
		"data":    map[string]any{"description": "the granted fields of the answer; {} when the registry holds nothing of the service about the subject", "anyOf": anyOf},
		"receipt": ref("Receipt")}}
	tags := []string{}
	for _, sp := range s.cat.Specs() {
		tags = append(tags, sp.Code)
	}
	slices.Sort(tags)
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "civitas data exchange", "version": "1",
			"description": "The province's registries answer agencies' systems by service, with purpose, case and signed receipts. " +
				"Services: " + strings.Join(tags, ", ") + "."},
		"servers":           []any{map[string]any{"url": s.o.PublicURL + "/api/exchange/v1"}},
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"paths": map[string]any{
			"/query": map[string]any{"post": map[string]any{
				"operationId": "query", "summary": "Ask a registry's service about a person or an enterprise",
				"security":    []any{map[string]any{"clientCredentials": []any{ScopeQuery}}},
				"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref("QueryRequest")}}},
				"responses": map[string]any{
					"200": map[string]any{"description": "the answer and its receipt", "content": map[string]any{"application/json": map[string]any{"schema": ref("QueryAnswer")}}},
					"400": problem, "401": problem, "403": problem, "404": problem, "413": problem, "503": problem,
				}}},
			"/purposes": map[string]any{"get": map[string]any{
				"operationId": "purposes", "summary": "The catalogue of legal purposes", "security": []any{},
				"responses": map[string]any{"200": map[string]any{"description": "the purposes",
					"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "array", "items": ref("Purpose")}}}}}}},
			"/services": map[string]any{"get": map[string]any{
				"operationId": "services", "summary": "The services of this province's registries", "security": []any{},
				"responses": map[string]any{"200": map[string]any{"description": "the services",
					"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "array", "items": ref("Service")}}}}}}},
			"/services/{code}/schema": map[string]any{"get": map[string]any{
				"operationId": "serviceSchema", "summary": "The JSON Schema of a service's data", "security": []any{},
				"parameters": []any{map[string]any{"name": "code", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
				"responses": map[string]any{
					"200": map[string]any{"description": "a JSON Schema (2020-12)", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}},
					"404": problem}}},
		},
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{"clientCredentials": map[string]any{"type": "oauth2", "description": "a client registered with `civitas client add --agency CODE --scope exchange.query`",
				"flows": map[string]any{"clientCredentials": map[string]any{"tokenUrl": s.o.PublicURL + "/oauth/token",
					"scopes": map[string]any{ScopeQuery: "query the registries as the client's agency"}}}}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}
