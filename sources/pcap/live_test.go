package pcap

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/dbgtool/dbg/investigate"
)

// The full-tier test: two network namespaces made by the test and joined by a veth pair, addresses from
// 198.18.0.0/24 (RFC 2544's benchmarking range) that exist only on that pair. Real Go servers listen in
// the server namespace, a real client runs in the client namespace, real tcpdump captures on the server's
// veth, and an nftables numgen rule drops a share of one server's packets on their way to the client.
// dbg must find each fault at its server and nothing at the healthy one.

const (
	labClient  = "198.18.0.2"
	labHealthy = "198.18.0.10:8080"
	labSlow    = "198.18.0.11:8080"
	labFailing = "198.18.0.12:8080"
	labClosed  = "198.18.0.13:9000"
	labReset   = "198.18.0.14:8080"
	labLossy   = "198.18.0.15:8080"
	labGRPC    = "198.18.0.16:50051"
	labTLS     = "198.18.0.17:8443"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// TestLiveCapture is the full-tier test; it needs root, ip, nft and tcpdump and fails without them.
func TestLiveCapture(t *testing.T) {
	if os.Getenv("DBG_NETLAB_ROLE") != "" {
		return
	}
	if testing.Short() {
		t.Skip("full tier: real tcpdump in network namespaces")
	}
	for _, tool := range []string{"ip", "nft", "tcpdump", "tshark"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the full tier needs it (scripts/test.sh installs iproute2, nftables, tcpdump, tshark)", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("the full tier's capture test makes network namespaces: run it as root")
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	srv, cli := "dbgsrv"+id, "dbgcli"+id
	run(t, "ip", "netns", "add", srv)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", srv).Run() })
	run(t, "ip", "netns", "add", cli)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", cli).Run() })
	vs, vc := "dbgs"+id, "dbgc"+id
	run(t, "ip", "link", "add", vs, "netns", srv, "type", "veth", "peer", "name", vc, "netns", cli)
	in := func(ns string, args ...string) { run(t, "ip", append([]string{"netns", "exec", ns}, args...)...) }
	for _, a := range []string{labHealthy, labSlow, labFailing, labClosed, labReset, labLossy, labGRPC, labTLS} {
		host, _, _ := strings.Cut(a, ":")
		in(srv, "ip", "addr", "add", host+"/24", "dev", vs)
	}
	in(cli, "ip", "addr", "add", labClient+"/24", "dev", vc)
	for _, ns := range [][2]string{{srv, vs}, {cli, vc}} {
		in(ns[0], "ip", "link", "set", "lo", "up")
		in(ns[0], "ip", "link", "set", ns[1], "up")
	}
	lossyHost, _, _ := strings.Cut(labLossy, ":")
	in(cli, "nft", "add table inet dbglab")
	in(cli, "nft", "add chain inet dbglab in { type filter hook input priority 0 ; }")
	in(cli, "nft", "add rule inet dbglab in ip saddr "+lossyHost+" numgen random mod 100 < 8 drop")

	dir := t.TempDir()
	capture := filepath.Join(dir, "lab.pcap")
	td := exec.Command("ip", "netns", "exec", srv, "tcpdump", "-i", vs, "-nn", "-s", "0", "-U", "-B", "32768", "-Z", "root", "-w", capture, "tcp")
	tdErr, _ := td.StderrPipe()
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = td.Process.Kill(); _ = td.Wait() })
	waitLine(t, tdErr, "listening on")

	self, _ := os.Executable()
	server := exec.Command("ip", "netns", "exec", srv, self, "-test.run=^TestNetLabHelper$")
	server.Env = append(os.Environ(), "DBG_NETLAB_ROLE=server")
	sout, _ := server.StdoutPipe()
	server.Stderr = os.Stderr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })
	waitLine(t, sout, "netlab ready")

	client := exec.Command("ip", "netns", "exec", cli, self, "-test.run=^TestNetLabHelper$")
	client.Env = append(os.Environ(), "DBG_NETLAB_ROLE=client")
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	time.Sleep(1500 * time.Millisecond) // tcpdump's last packets, then its summary
	_ = td.Process.Signal(os.Interrupt)
	_ = td.Wait()

	fh, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rep, st, err := Analyze(fh, Options{}, investigate.DefaultNetOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s: %d packets, %d flows, %d exchanges, warnings %v", st.Format, st.LinkType, rep.Packets, rep.Flows, rep.Exchanges, rep.Warnings)
	found := map[string]investigate.Finding{}
	for _, f := range rep.Findings {
		t.Logf("%-18s %-20s %.2f %s", f.Kind, f.Service, f.Score, f.Title)
		found[f.Kind+" "+f.Service] = f
	}
	for _, want := range []string{
		"latency_hotspot " + labSlow, "error_hotspot " + labFailing, "connection_refused " + labClosed,
		"tcp_resets " + labReset, "tcp_retransmits " + labLossy, "error_hotspot " + labGRPC, "tls_failure " + labTLS,
	} {
		if _, ok := found[want]; !ok {
			t.Errorf("missing finding %s", want)
		}
	}
	if f := found["latency_hotspot "+labSlow]; f.Operation != "GET /orders/{id}" {
		t.Errorf("slow endpoint named %q, want GET /orders/{id}", f.Operation)
	}
	if f := found["error_hotspot "+labGRPC]; f.Operation != "gRPC /shop.Inventory/Reserve" || len(f.TraceIDs) == 0 {
		t.Errorf("gRPC finding: operation %q, traces %v", f.Operation, f.TraceIDs)
	}
	if f := found["tls_failure "+labTLS]; !strings.Contains(f.Title, "bad_certificate (sent by client)") {
		t.Errorf("TLS failure: %q, want the client's bad_certificate alert", f.Title)
	}
	for k := range found {
		if strings.HasSuffix(k, " "+labHealthy) {
			t.Errorf("a finding at the healthy server: %s", k)
		}
	}
	for _, e := range rep.Endpoints {
		if e.Server == labHealthy && (e.Count != 40 || e.Errors != 0) {
			t.Errorf("healthy endpoint %s %s: %d requests, %d errors; the client sent 40, all answered 200", e.Method, e.Route, e.Count, e.Errors)
		}
	}
	for _, s := range rep.Servers {
		if s.Server == labHealthy && (s.Retransmits != 0 || s.ResetsByServer+s.ResetsByClient != 0) {
			t.Errorf("healthy server lost packets or reset: %+v", s)
		}
	}
	if tshark, err := exec.LookPath("tshark"); err == nil { // checked above: always true here
		out, err := exec.Command(tshark, "-r", capture, "-q", "-z", "conv,tcp").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		n := strings.Count(string(out), "<->")
		if n != rep.Flows {
			t.Errorf("tshark -z conv,tcp counts %d conversations, dbg %d", n, rep.Flows)
		}
		// Wireshark splits what dbg counts as retransmissions into retransmission and out-of-order (a
		// resent segment that arrives within an RTT); together they must agree.
		host, port, _ := strings.Cut(labLossy, ":")
		out, err = exec.Command(tshark, "-r", capture, "-Y", "ip.addr=="+host+" && tcp.port=="+port+
			" && (tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.out_of_order)").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		want := strings.Count(string(out), "\n")
		for _, s := range rep.Servers {
			if s.Server == labLossy && s.Retransmits != want {
				t.Errorf("%s: dbg counts %d retransmissions, tshark %d retransmissions and out-of-order segments", labLossy, s.Retransmits, want)
			}
		}
	}
}

func waitLine(t *testing.T, r io.Reader, want string) {
	t.Helper()
	done := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				done <- true
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
		done <- false
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatalf("process ended before printing %q", want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no %q after 20s", want)
	}
}

// TestNetLabHelper is the servers and the client of TestLiveCapture, run inside its namespaces.
func TestNetLabHelper(t *testing.T) {
	switch os.Getenv("DBG_NETLAB_ROLE") {
	case "server":
		labServers(t)
	case "client":
		labClientRun(t)
	}
}

func listen(t *testing.T, addr string) net.Listener {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func labServers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/items/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "item") })
	go http.Serve(listen(t, labHealthy), mux)
	slow := http.NewServeMux()
	slow.HandleFunc("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintln(w, "order")
	})
	go http.Serve(listen(t, labSlow), slow)
	var n sync.Mutex
	count := 0
	go http.Serve(listen(t, labFailing), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Lock()
		count++
		c := count
		n.Unlock()
		if c%3 == 0 {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "paid")
	}))
	rl := listen(t, labReset)
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_ = c.(*net.TCPConn).SetLinger(0) // close with RST
				_ = c.Close()
			}()
		}
	}()
	blob := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	go http.Serve(listen(t, labLossy), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, blob) }))
	calls := 0
	gs := grpc.NewServer(grpc.UnknownServiceHandler(func(srv any, stream grpc.ServerStream) error {
		var in emptypb.Empty
		if err := stream.RecvMsg(&in); err != nil {
			return err
		}
		n.Lock()
		calls++
		c := calls
		n.Unlock()
		if c%4 == 0 {
			return status.Error(codes.Unavailable, "no stock service")
		}
		return stream.SendMsg(&emptypb.Empty{})
	}))
	go gs.Serve(listen(t, labGRPC))
	go tlsServer(t, listen(t, labTLS))
	fmt.Println("netlab ready")
	time.Sleep(2 * time.Minute) // the test kills this process when the client is done
}

func labClientRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	trace := func(i int) string { return fmt.Sprintf("00-%032x-%016x-01", 0xd0c0000+i, 0xabc+i) }
	get := func(c *http.Client, method, url string, i int) error {
		req, _ := http.NewRequestWithContext(ctx, method, url, nil)
		req.Header.Set("traceparent", trace(i))
		req.Header.Set("X-Request-ID", "lab-"+strconv.Itoa(i))
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	keep := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var wg sync.WaitGroup
	do := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	do(func() {
		for i := 0; i < 40; i++ {
			if err := get(keep, "GET", "http://"+labHealthy+"/items/"+strconv.Itoa(1000+i), i); err != nil {
				t.Errorf("healthy: %v", err)
			}
		}
	})
	do(func() {
		for i := 0; i < 8; i++ {
			if err := get(keep, "GET", "http://"+labSlow+"/orders/"+strconv.Itoa(7000+i), 100+i); err != nil {
				t.Errorf("slow: %v", err)
			}
		}
	})
	do(func() {
		for i := 0; i < 30; i++ {
			_ = get(keep, "POST", "http://"+labFailing+"/pay", 200+i)
		}
	})
	do(func() {
		for i := 0; i < 10; i++ {
			if c, err := net.DialTimeout("tcp", labClosed, time.Second); err == nil {
				c.Close()
				t.Errorf("something listens on %s", labClosed)
			}
		}
	})
	do(func() {
		for i := 0; i < 10; i++ {
			_ = get(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, "GET", "http://"+labReset+"/stock", 300+i)
		}
	})
	do(func() {
		for i := 0; i < 15; i++ {
			if err := get(keep, "GET", "http://"+labLossy+"/blob", 400+i); err != nil {
				t.Errorf("lossy: %v", err)
			}
		}
	})
	do(func() {
		conn, err := grpc.NewClient(labGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Errorf("grpc: %v", err)
			return
		}
		defer conn.Close()
		for i := 0; i < 20; i++ {
			c := metadata.AppendToOutgoingContext(ctx, "traceparent", trace(500+i))
			_ = conn.Invoke(c, "/shop.Inventory/Reserve", &emptypb.Empty{}, &emptypb.Empty{})
		}
	})
	do(func() {
		for i := 0; i < 10; i++ {
			// Half the clients verify the self-signed certificate and refuse it (TLS 1.2: the alert
			// goes out in clear); half skip verification and talk TLS 1.3 (all encrypted).
			cfg := &tls.Config{MaxVersion: tls.VersionTLS12, ServerName: "ledger.shop"}
			if i%2 == 1 {
				cfg = &tls.Config{InsecureSkipVerify: true}
			}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", labTLS, cfg)
			if (err == nil) != (i%2 == 1) {
				t.Errorf("TLS client %d: %v", i, err)
			}
			if err == nil {
				io.WriteString(c, "ping\n")
				c.Close()
			}
		}
	})
	wg.Wait()
}

// tlsServer answers TLS with a self-signed certificate made here.
func tlsServer(t *testing.T, l net.Listener) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Error(err)
		return
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ledger.shop"}, DNSNames: []string{"ledger.shop"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Error(err)
		return
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	tl := tls.NewListener(l, cfg)
	for {
		c, err := tl.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}
