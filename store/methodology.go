package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// MethodologyResult says what PutMethodology did.
type MethodologyResult struct {
	Methodology   estimator.Methodology // as stored, with Version and Created
	Nodes         []estimator.NodeResult
	Revision      uint64
	ScoresChanged int // stored score summaries the new version changed
}

// scoring is a methodology ready to score with: its weights solved. A
// scoring is never modified once built, so one can be shared by every
// transaction that uses it.
type scoring struct {
	m       estimator.Methodology
	weights map[string]float64
}

func newScoring(m estimator.Methodology) (*scoring, error) {
	w, _, err := m.Weights()
	if err != nil {
		return nil, fmt.Errorf("store: methodology %d: %w", m.Version, err)
	}
	return &scoring{m: m, weights: w}, nil
}

// PutMethodology validates m with m.Weights (returning its EInvalid or
// EFailedPrecondition error as it is), stores it as the next version with
// Created set to now, makes it current and recomputes every index year's
// scores with it, all in one transaction and one revision. Earlier versions
// are kept unchanged, so any of them can still score on demand.
func (db *DB) PutMethodology(m estimator.Methodology) (MethodologyResult, error) {
	weights, nodes, err := m.Weights()
	if err != nil {
		return MethodologyResult{}, err
	}
	var (
		res    MethodologyResult
		stored []byte
	)
	err = db.update(func(tx *bbolt.Tx) (bool, error) {
		last, err := lastMethodologyVersion(tx)
		if err != nil {
			return false, err
		}
		m.Version = last + 1
		m.Created = time.Unix(0, db.now().UnixNano()).UTC() // as it will decode
		if stored, err = encodeMethodology(m); err != nil {
			return false, estimator.Invalid("methodology cannot be stored",
				[]estimator.FieldViolation{{Description: err.Error()}})
		}
		if err := putMethodology(tx, m.Version, stored); err != nil {
			return false, err
		}
		scores, err := db.rescore(tx, impact{all: true}, &scoring{m: m, weights: weights})
		if err != nil {
			return false, err
		}
		rev, err := db.commitChange(tx, Change{Time: m.Created, Kind: ChangeMethodology, Methodology: m.Version, Scores: scores})
		res = MethodologyResult{Methodology: m, Nodes: nodes, Revision: rev, ScoresChanged: len(scores)}
		return true, err
	})
	if err != nil {
		return MethodologyResult{}, err
	}
	// Cache a decoded copy, which shares no memory with the caller's m.
	decoded, err := decodeMethodology(stored)
	if err != nil {
		return MethodologyResult{}, err
	}
	db.setCurrent(&scoring{m: decoded, weights: weights})
	return res, nil
}

// putMethodology stores an encoded version and makes it current.
func putMethodology(tx *bbolt.Tx, version uint64, v []byte) error {
	if err := tx.Bucket(bucketMethods).Put(revisionKey(version), v); err != nil {
		return fmt.Errorf("store: write methodology %d: %w", version, err)
	}
	if err := tx.Bucket(bucketMeta).Put(keyMethodology, revisionKey(version)); err != nil {
		return fmt.Errorf("store: write current methodology: %w", err)
	}
	return nil
}

// storeDefaultMethodology makes estimator.DefaultMethodology version 1 of a
// file that has none. It takes no revision: it is part of creating the file,
// not a write anyone made, and a file without observations has no score it
// could change.
func storeDefaultMethodology(tx *bbolt.Tx, now time.Time) error {
	m := estimator.DefaultMethodology()
	m.Version = 1
	m.Created = time.Unix(0, now.UnixNano()).UTC()
	v, err := encodeMethodology(m)
	if err != nil {
		return fmt.Errorf("store: encode default methodology: %w", err)
	}
	return putMethodology(tx, m.Version, v)
}

func lastMethodologyVersion(tx *bbolt.Tx) (uint64, error) {
	k, _ := tx.Bucket(bucketMethods).Cursor().Last()
	if k == nil {
		return 0, nil
	}
	if len(k) != 8 {
		return 0, fmt.Errorf("store: methodology key %x is not a version", k)
	}
	return binary.BigEndian.Uint64(k), nil
}

func currentMethodologyVersion(tx *bbolt.Tx) (uint64, error) {
	v := tx.Bucket(bucketMeta).Get(keyMethodology)
	if len(v) != 8 {
		return 0, fmt.Errorf("store: meta methodology has %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// readMethodology decodes a stored version; 0 means the current one.
func readMethodology(tx *bbolt.Tx, version uint64) (estimator.Methodology, error) {
	if version == 0 {
		var err error
		if version, err = currentMethodologyVersion(tx); err != nil {
			return estimator.Methodology{}, err
		}
	}
	v := tx.Bucket(bucketMethods).Get(revisionKey(version))
	if v == nil {
		return estimator.Methodology{}, estimator.Errorf(estimator.ENotFound, "methodology version %d not found", version)
	}
	m, err := decodeMethodology(v)
	if err != nil {
		return estimator.Methodology{}, fmt.Errorf("store: methodology %d: %w", version, err)
	}
	return m, nil
}

// Methodology returns a stored methodology version, 0 for the current one,
// or ENotFound. The result is the caller's to modify.
func (db *DB) Methodology(version uint64) (estimator.Methodology, error) {
	var m estimator.Methodology
	err := db.read(func(tx *bbolt.Tx) error {
		var err error
		m, err = readMethodology(tx, version)
		return err
	})
	return m, err
}

// Factors returns the current methodology's conversion factors, for totals
// that must agree with the scale indicators of the index.
func (db *DB) Factors() estimator.Factors { return db.cur.Load().m.Factors }

// loadCurrent fills the cache at Open.
func (db *DB) loadCurrent() error {
	return db.read(func(tx *bbolt.Tx) error {
		m, err := readMethodology(tx, 0)
		if err != nil {
			return err
		}
		s, err := newScoring(m)
		if err != nil {
			return err
		}
		db.cur.Store(s)
		return nil
	})
}

// setCurrent replaces the cache unless it already holds a later version:
// two PutMethodology calls may swap the cache in either order once their
// transactions have committed in order.
func (db *DB) setCurrent(s *scoring) {
	for {
		old := db.cur.Load()
		if old != nil && old.m.Version >= s.m.Version {
			return
		}
		if db.cur.CompareAndSwap(old, s) {
			return
		}
	}
}

// scoringIn returns the methodology current in tx. That is the cache, except
// in the moment between a PutMethodology's commit and its cache swap, when
// another write can already see the new version: then it is decoded here,
// so no write ever scores with a superseded version.
func (db *DB) scoringIn(tx *bbolt.Tx) (*scoring, error) {
	version, err := currentMethodologyVersion(tx)
	if err != nil {
		return nil, err
	}
	if s := db.cur.Load(); s != nil && s.m.Version == version {
		return s, nil
	}
	m, err := readMethodology(tx, version)
	if err != nil {
		return nil, err
	}
	return newScoring(m)
}
