package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// TestFeedbackCommand holds the fixed contract:
// civitas feedback apikey --data DIR --name APP prints an Open311 API key.
func TestFeedbackCommand(t *testing.T) {
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	code, out, errs := civitas(t, "feedback", "apikey", "--data", dir, "--name", "Đắk Lắk số")
	key := strings.TrimSpace(out)
	if code != exitOK || !strings.HasPrefix(key, "civ311_") || len(key) != 7+52 || strings.Contains(out, "\n\n") {
		t.Fatalf("apikey: %d %q %q", code, out, errs)
	}
	code, out, _ = civitas(t, "feedback", "clients", "--data", dir)
	if code != exitOK || !strings.Contains(out, "Đắk Lắk số") || !strings.Contains(out, "active") || strings.Contains(out, key) {
		t.Fatalf("clients: %d %q", code, out)
	}
	id := strings.Fields(out)[0]
	if code, out, errs := civitas(t, "feedback", "revoke", "--data", dir, "--client", id); code != exitOK {
		t.Fatalf("revoke: %s %s", out, errs)
	}
	if code, _, _ := civitas(t, "feedback", "revoke", "--data", dir, "--client", id); code != exitFailure {
		t.Fatalf("revoked twice: %d", code)
	}
	if code, _, _ := civitas(t, "feedback", "apikey", "--data", dir); code != exitUsage {
		t.Fatalf("no name: %d", code)
	}
	// Planning layers from GeoJSON; a fault is named with its line.
	good := filepath.Join(dir, "zones.geojson")
	_ = os.WriteFile(good, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Đất ở"},
"geometry":{"type":"Polygon","coordinates":[[[108.04,12.67],[108.06,12.67],[108.06,12.69],[108.04,12.67]]]}}]}`), 0o600)
	if code, out, errs := civitas(t, "feedback", "layer", "--data", dir, "--name", "Quy hoạch", "--kind", "zoning", good); code != exitOK || !strings.Contains(out, "1 features") {
		t.Fatalf("layer: %d %s %s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.geojson")
	_ = os.WriteFile(bad, []byte("{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[108.0,12.6,]}}]}"), 0o600)
	if code, _, errs := civitas(t, "feedback", "layer", "--data", dir, "--name", "Hỏng", bad); code != exitFailure || !strings.Contains(errs, "Line 3") {
		t.Fatalf("bad layer: %d %s", code, errs)
	}
}
