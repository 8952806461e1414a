package app

import (
	"strings"
	"testing"

	"amtsassist/assist/triage/classify"
)

func TestDeskModelNamesAreValidForEveryDesk(t *testing.T) {
	for _, desk := range []string{"IT-Service", "Landratsamt Mittelsachsen Servicedesk Informationstechnik und Digitalisierung", "Служба", "", "Stadt Görlitz"} {
		name := deskModelName(desk, "category")
		if err := classify.CheckName(name); err != nil {
			t.Errorf("desk %q: model name %q is invalid: %v", desk, name, err)
		}
		if !strings.HasSuffix(name, "-category") {
			t.Errorf("desk %q: %q", desk, name)
		}
	}
	if deskModelName("IT-Service", "category") != "it-service-category" {
		t.Errorf("a short desk name keeps its readable slug: %q", deskModelName("IT-Service", "category"))
	}
}
