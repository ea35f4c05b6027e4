// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the fake cluster's CA and the certificates it issued. The CA is
// reused when the state dir already holds one, so a restarted fake server
// (an "apiserver restart") is still trusted by a client that kept ca.crt.
type pki struct {
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	caPool  *x509.CertPool
	server  tls.Certificate
	dir     string
	hasCert bool // client.crt/key were minted
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	// Renamed into place so a test reading the file never sees half of it.
	return os.Rename(tmp, path)
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, nil, errors.New("bad PEM in ca.crt/ca.key")
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if time.Now().After(cert.NotAfter) {
		return nil, nil, errors.New("ca.crt expired")
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func newPKI(dir string, sans []string, mintClient bool) (*pki, error) {
	p := &pki{dir: dir}
	ca, caKey, err := loadCA(dir)
	if err != nil {
		caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "sl-fakeapi-ca"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
		if err != nil {
			return nil, err
		}
		if ca, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
		kder, _ := x509.MarshalECPrivateKey(caKey)
		if err := writePEM(filepath.Join(dir, "ca.key"), "EC PRIVATE KEY", kder, 0600); err != nil {
			return nil, err
		}
		if err := writePEM(filepath.Join(dir, "ca.crt"), "CERTIFICATE", der, 0644); err != nil {
			return nil, err
		}
	}
	p.ca, p.caKey = ca, caKey
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(ca)

	certPEM, keyPEM, err := p.issue("sl-fakeapi", sans, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "server.crt"), certPEM, 0644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "server.key"), keyPEM, 0600); err != nil {
		return nil, err
	}
	if p.server, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	if mintClient {
		// CN is the user name and O the groups, as the apiserver's
		// x509 authenticator reads them.
		certPEM, keyPEM, err := p.issue("system:node:sluice", nil, x509.ExtKeyUsageClientAuth)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "client.crt"), certPEM, 0644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "client.key"), keyPEM, 0600); err != nil {
			return nil, err
		}
		p.hasCert = true
	}
	return p, nil
}

// issue signs a leaf certificate; sans are DNS names or IP literals.
func (p *pki) issue(cn string, sans []string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageClientAuth {
		tmpl.Subject.Organization = []string{"system:nodes"}
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if s != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// verifyClient checks a presented client certificate chain against the CA,
// returning the user name (CN) on success.
func (p *pki) verifyClient(chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return "", errors.New("no client certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: p.caPool, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return "", fmt.Errorf("client certificate: %w", err)
	}
	return chain[0].Subject.CommonName, nil
}
