// A tlog-tiles client built on golang.org/x/mod/sumdb (Debian's golang-golang-x-mod-dev): the
// Go checksum database's own note, tile and proof code, which the portal shares nothing with.
// The test suite builds it to check that a standard implementation reads our tiles.
//
//	tlog_client -base URL|DIR [-token T] -vkey VKEY [-index N] [-all] [-receipt FILE]
//
// It verifies the checkpoint's signature, every tile it loads against the signed root
// (x/mod's TileHashReader refuses a tile that does not hash up to it), the tree hash, and for
// -index an inclusion proof of that entry from its entry bundle; -all checks every entry of
// every bundle against the level-0 tiles; -receipt checks a c2sp.org/tlog-proof file offline.
package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var base, token string

func fetch(path string) ([]byte, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return os.ReadFile(filepath.Join(base, filepath.FromSlash(path)))
	}
	req, err := http.NewRequest("GET", strings.TrimSuffix(base, "/")+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

// c2spPath turns x/mod's "tile/8/L/N" (its paths name the height) into tlog-tiles' "tile/L/N",
// and its data tiles "tile/8/data/N" into entry bundles "tile/entries/N".
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	return "tile/" + strings.Replace(p, "data/", "entries/", 1)
}

type tileReader struct{ fetched int }

func (*tileReader) Height() int { return height }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := fetch(c2spPath(t))
		if err != nil {
			return nil, err
		}
		r.fetched++
		out[i] = data
	}
	return out, nil
}

func (*tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func parseCheckpoint(raw []byte, verifier note.Verifier) (tlog.Tree, error) {
	n, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		return tlog.Tree{}, errors.New("checkpoint: origin is not the key's name")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("checkpoint size: %w", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("checkpoint root: %w", err)
	}
	return tlog.Tree{N: size, Hash: root}, nil
}

func bundle(tree tlog.Tree, n int64) ([][]byte, error) {
	w := tree.N - n*256
	if w > 256 {
		w = 256
	}
	data, err := fetch(c2spPath(tlog.Tile{H: height, L: -1, N: n, W: int(w)}))
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("entry bundle: truncated length")
		}
		size := int(data[0])<<8 | int(data[1])
		if len(data) < 2+size {
			return nil, errors.New("entry bundle: truncated entry")
		}
		entries = append(entries, data[2:2+size])
		data = data[2+size:]
	}
	if int64(len(entries)) != w {
		return nil, fmt.Errorf("entry bundle %d: %d entries, want %d", n, len(entries), w)
	}
	return entries, nil
}

func checkReceipt(path string, verifier note.Verifier) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	head, checkpoint, ok := strings.Cut(string(raw), "\n\n")
	if !ok {
		return errors.New("receipt: no checkpoint")
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(lines[1], "extra ") ||
		!strings.HasPrefix(lines[2], "index ") {
		return errors.New("receipt: not a tlog-proof with extra data")
	}
	entry, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
	if err != nil {
		return err
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[2], "index "), 10, 64)
	if err != nil {
		return err
	}
	var proof tlog.RecordProof
	for _, line := range lines[3:] {
		h, err := tlog.ParseHash(line)
		if err != nil {
			return err
		}
		proof = append(proof, h)
	}
	tree, err := parseCheckpoint([]byte(checkpoint), verifier)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(entry)); err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	fmt.Printf("OK: receipt proves entry %d in the signed tree of size %d\n", index, tree.N)
	return nil
}

func run() error {
	vkey := flag.String("vkey", "", "the log's note verifier key")
	index := flag.Int64("index", -1, "an entry to prove included")
	all := flag.Bool("all", false, "check every entry bundle against the level-0 tiles")
	receipt := flag.String("receipt", "", "a tlog-proof file to check offline")
	flag.StringVar(&base, "base", "", "the tlog-tiles prefix URL, or an exported folder")
	flag.StringVar(&token, "token", "", "bearer token")
	flag.Parse()
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return err
	}
	if *receipt != "" {
		return checkReceipt(*receipt, verifier)
	}
	raw, err := fetch("checkpoint")
	if err != nil {
		return err
	}
	tree, err := parseCheckpoint(raw, verifier)
	if err != nil {
		return err
	}
	reader := &tileReader{}
	hashes := tlog.TileHashReader(tree, reader)
	root, err := tlog.TreeHash(tree.N, hashes)
	if err != nil {
		return fmt.Errorf("tree hash from tiles: %w", err)
	}
	if root != tree.Hash {
		return errors.New("tree hash from tiles differs from the checkpoint")
	}
	fmt.Printf("checkpoint: size %d root %s, verified from %d tiles\n", tree.N, root, reader.fetched)
	if *index >= 0 {
		entries, err := bundle(tree, *index/256)
		if err != nil {
			return err
		}
		leaf := tlog.RecordHash(entries[*index%256])
		proof, err := tlog.ProveRecord(tree.N, *index, hashes)
		if err != nil {
			return err
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, *index, leaf); err != nil {
			return fmt.Errorf("inclusion of entry %d: %w", *index, err)
		}
		fmt.Printf("entry %d: included (%d-hash proof)\n", *index, len(proof))
	}
	if *all {
		for n := int64(0); n*256 < tree.N; n++ {
			entries, err := bundle(tree, n)
			if err != nil {
				return err
			}
			want := make([]int64, len(entries))
			for i := range entries {
				want[i] = tlog.StoredHashIndex(0, n*256+int64(i))
			}
			got, err := hashes.ReadHashes(want)
			if err != nil {
				return err
			}
			for i, e := range entries {
				if tlog.RecordHash(e) != got[i] {
					return fmt.Errorf("entry %d does not hash to its level-0 tile", n*256+int64(i))
				}
			}
		}
		fmt.Printf("all %d entries match their tiles\n", tree.N)
	}
	fmt.Println("OK")
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
}
