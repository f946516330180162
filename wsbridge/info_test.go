package wsbridge

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The admin listener's /connections lists ConnectionInfo as JSON; its
// names must be those of API Gateway's GetConnection answer.
func TestConnectionInfoJSONUsesGetConnectionNames(t *testing.T) {
	info := ConnectionInfo{
		ID:           "R1kmxc2VNjMCFIA=",
		Stage:        "prod",
		ConnectedAt:  time.Date(2024, 1, 20, 11, 54, 57, 419e6, time.UTC),
		LastActiveAt: time.Date(2024, 1, 20, 11, 55, 1, 2e6, time.UTC),
		SourceIP:     "127.0.0.1",
		UserAgent:    "wscat",
		Queued:       3,
	}
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]any{
		"connectionId": "R1kmxc2VNjMCFIA=",
		"stage":        "prod",
		"connectedAt":  "2024-01-20T11:54:57.419Z",
		"lastActiveAt": "2024-01-20T11:55:01.002Z",
		"identity":     map[string]any{"sourceIp": "127.0.0.1", "userAgent": "wscat"},
		"queued":       float64(3),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON = %s\nwant %v", b, want)
	}
}
