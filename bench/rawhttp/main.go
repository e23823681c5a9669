// Command rawhttp is the peer for the HTTP throughput figures: the bare
// standard-library server answering "ok", the limit of net/http on the machine.
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:18081"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
