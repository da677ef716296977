package aiformat

import (
	"bytes"
	"testing"
	"unsafe"
)

// A translated answer given back with Recycle is the storage of the next one, which comes out
// the same as in fresh storage; an answer passed through as the provider wrote it is never taken.
func TestRecycledAnswerIsTheNextOnesStorage(t *testing.T) {
	translate := func(size int) []byte {
		tr := newTranslator(DialectOpenAI, wireAnthropic, false, true, testNow, "m")
		tr.Headers(200, "application/json")
		_, out := tr.Finish(benchResponse(wireAnthropic, size))
		out = bytes.Clone(out)
		return out
	}
	want := translate(600)

	first := newTranslator(DialectOpenAI, wireAnthropic, false, true, testNow, "m")
	first.Headers(200, "application/json")
	_, out := first.Finish(benchResponse(wireAnthropic, 1<<10))
	storage := unsafe.SliceData(out)
	first.Recycle()
	if first.answer != nil {
		t.Fatal("Recycle kept the answer")
	}
	second := newTranslator(DialectOpenAI, wireAnthropic, false, true, testNow, "m")
	second.Headers(200, "application/json")
	_, again := second.Finish(benchResponse(wireAnthropic, 600))
	if unsafe.SliceData(again) != storage {
		t.Error("the second answer did not reuse the recycled storage")
	}
	if !bytes.Equal(again, want) {
		t.Errorf("answer in recycled storage:\n%s\nwant\n%s", again, want)
	}
	second.Recycle()

	same := newTranslator(DialectOpenAI, wireOpenAI, false, true, testNow, "m")
	same.passthrough = true
	same.Headers(200, "application/json")
	body := benchResponse(wireOpenAI, 600)
	if _, got := same.Finish(body); !overlaps(got, body) || same.answer != nil {
		t.Fatal("a passed-through answer was taken as the translator's")
	}
}
