package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/wire/geo"
)

// The publishing half of the social layer: posts, reading a post by id,
// and profiles. Images travel in the JSON as base64 (the CLI reads the
// file: the daemon may run in another directory).

// PostRequest is what POST /post takes.
type PostRequest struct {
	Text string `json:"text"`
	// Image is the image file's bytes (at most 10 MiB), or empty.
	Image []byte `json:"image,omitempty"`
	// To is "world" or "area" ("" is world, or area when Near is set).
	To        string  `json:"to,omitempty"`
	Near      string  `json:"near,omitempty"` // "LAT,LON"
	RadiusKM  float64 `json:"radius_km,omitempty"`
	Anonymous bool    `json:"anonymous,omitempty"`
	Reply     string  `json:"reply,omitempty"` // the parent's id
}

// PostView is a post as the API shows it.
type PostView struct {
	ID string `json:"id"`
	// Author is the author's address, empty for an anonymous post;
	// Fingerprint the author's fingerprint and Contact your name for
	// them, if they are a contact.
	Author      string    `json:"author,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Contact     string    `json:"contact,omitempty"`
	Anonymous   bool      `json:"anonymous"`
	To          string    `json:"to"`
	Text        string    `json:"text"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	Reply       string    `json:"reply,omitempty"`
	Area        *AreaView `json:"area,omitempty"`
	// ImageSize is the image's width and height, when there is one;
	// Image its bytes (a JPEG) when they were asked for.
	ImageSize []int  `json:"image_size,omitempty"`
	Image     []byte `json:"image,omitempty"`
}

// AreaView is the circle of an area post.
type AreaView struct {
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	RadiusM uint32  `json:"radius_m"`
}

// ProfileSetRequest is what POST /profile/set takes; absent fields keep
// their current values.
type ProfileSetRequest struct {
	Name       *string `json:"name,omitempty"`
	Bio        *string `json:"bio,omitempty"`
	Photo      []byte  `json:"photo,omitempty"` // the image file's bytes
	ClearPhoto bool    `json:"clear_photo,omitempty"`
	Visibility string  `json:"visibility,omitempty"` // world, friends or local
	Near       string  `json:"near,omitempty"`       // "LAT,LON", for local
}

// ProfileView is a profile as the API shows it.
type ProfileView struct {
	Address     string    `json:"address"`
	Fingerprint string    `json:"fingerprint"`
	Contact     string    `json:"contact,omitempty"`
	Name        string    `json:"name"`
	Bio         string    `json:"bio"`
	Visibility  string    `json:"visibility"`
	Recent      []string  `json:"recent"`
	Updated     time.Time `json:"updated"`
	Expires     time.Time `json:"expires"`
	PhotoSize   []int     `json:"photo_size,omitempty"`
	Photo       []byte    `json:"photo,omitempty"` // the full photo, when asked for
}

// maxUpload bounds a request that carries an image: 10 MiB in base64 and
// the rest.
const maxUpload = photo.MaxInput/3*4 + 1<<20

func (d *Daemon) socialPubRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /post", func(w http.ResponseWriter, r *http.Request) {
		var req PostRequest
		if !decodeLimit(w, r, &req, maxUpload) {
			return
		}
		o, err := postOptions(&req)
		if err != nil {
			reply(w, nil, err)
			return
		}
		id, err := d.s.Post(r.Context(), *o)
		reply(w, map[string]string{"id": id.String()}, err)
	})
	mux.HandleFunc("GET /post/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := social.ParsePostID(r.PathValue("id"))
		if err != nil {
			reply(w, nil, err)
			return
		}
		p, err := d.s.Fetch(r.Context(), id)
		if err != nil {
			reply(w, nil, err)
			return
		}
		v := d.postView(p)
		if img := r.URL.Query().Get("image"); img != "" && p.Image != nil {
			if v.Image, err = d.s.Image(r.Context(), p.Image, img == "full"); err != nil {
				reply(w, nil, err)
				return
			}
		}
		reply(w, v, nil)
	})
	mux.HandleFunc("POST /profile/set", func(w http.ResponseWriter, r *http.Request) {
		var req ProfileSetRequest
		if !decodeLimit(w, r, &req, maxUpload) {
			return
		}
		o := social.ProfileOptions{Name: req.Name, Bio: req.Bio, ClearPhoto: req.ClearPhoto}
		if len(req.Photo) != 0 {
			o.Photo = bytes.NewReader(req.Photo)
		}
		var err error
		if req.Visibility != "" {
			if o.Visibility, err = social.ParseVisibility(req.Visibility); err != nil {
				reply(w, nil, err)
				return
			}
		}
		if req.Near != "" {
			p, err := geo.ParsePoint(req.Near)
			if err != nil {
				reply(w, nil, fmt.Errorf("--near: %w", err))
				return
			}
			o.Near = &p
		}
		addr, err := d.s.SetProfile(r.Context(), o)
		reply(w, map[string]string{"address": addr}, err)
	})
	mux.HandleFunc("POST /profile/show", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Who   string `json:"who"` // a contact's name or an address; empty: your own
			Photo bool   `json:"photo"`
		}
		if !decode(w, r, &req) {
			return
		}
		addr, contact, err := d.resolve(req.Who)
		if err != nil {
			reply(w, nil, err)
			return
		}
		p, err := d.s.Profile(r.Context(), addr)
		if err != nil {
			reply(w, nil, err)
			return
		}
		v := &ProfileView{Address: p.Address, Fingerprint: p.Fingerprint, Contact: contact, Name: p.Name, Bio: p.Bio,
			Visibility: p.Visibility.String(), Recent: []string{}, Updated: p.Updated, Expires: p.Expires}
		for _, id := range p.Recent {
			v.Recent = append(v.Recent, id.String())
		}
		if p.Photo != nil {
			v.PhotoSize = []int{int(p.Photo.W), int(p.Photo.H)}
			if req.Photo {
				if v.Photo, err = d.s.Image(r.Context(), p.Photo, true); err != nil {
					reply(w, nil, err)
					return
				}
			}
		}
		reply(w, v, nil)
	})
}

// postOptions turns a request into the options of social.Post.
func postOptions(req *PostRequest) (*social.PostOptions, error) {
	o := &social.PostOptions{Text: req.Text, Anonymous: req.Anonymous, To: social.World}
	switch {
	case req.To == "" && req.Near != "":
		o.To = social.Local
	case req.To != "":
		to, err := social.ParseAudience(req.To)
		if err != nil {
			return nil, err
		}
		o.To = to
	}
	if len(req.Image) != 0 {
		o.Image = bytes.NewReader(req.Image)
	}
	if req.Near != "" {
		p, err := geo.ParsePoint(req.Near)
		if err != nil {
			return nil, fmt.Errorf("--near: %w", err)
		}
		o.Near, o.RadiusM = &p, req.RadiusKM*1000
	}
	if req.Reply != "" {
		id, err := social.ParsePostID(req.Reply)
		if err != nil {
			return nil, fmt.Errorf("--reply: %w", err)
		}
		o.Reply = &id
	}
	return o, nil
}

func (d *Daemon) postView(p *social.Post) *PostView {
	v := &PostView{ID: p.ID.String(), Anonymous: p.Author == nil, To: p.To.String(), Text: p.Text, Created: p.Created, Expires: p.Expires}
	if p.Author != nil {
		v.Author, v.Fingerprint = messenger.Address(p.Author), client.Fingerprint(p.Author)
		v.Contact = d.contactOf(v.Fingerprint)
	}
	if p.Reply != nil {
		v.Reply = p.Reply.String()
	}
	if p.Area != nil {
		c := p.Area.Center()
		v.Area = &AreaView{Lat: c.Lat, Lon: c.Lon, RadiusM: p.Area.RadiusM}
	}
	if p.Image != nil {
		v.ImageSize = []int{int(p.Image.W), int(p.Image.H)}
	}
	return v
}

// contactOf returns the name of the contact with fingerprint fp, or "".
func (d *Daemon) contactOf(fp string) string {
	cs, err := d.m.Contacts()
	if err != nil {
		return ""
	}
	for name, f := range cs {
		if f == fp {
			return name
		}
	}
	return ""
}

// resolve reads who: an address, a contact's name, or "" for the user's
// own address. It returns the address and the contact's name, if any.
func (d *Daemon) resolve(who string) (addr, contact string, err error) {
	who = strings.TrimSpace(who)
	if who == "" {
		return d.m.Address(), "", nil
	}
	if pub, err := messenger.ParseAddress(who); err == nil {
		return messenger.Address(pub), d.contactOf(client.Fingerprint(pub)), nil
	}
	pub, err := d.m.ContactIdentity(who)
	if err != nil {
		return "", "", fmt.Errorf("%q is neither an address (64 hex digits) nor a contact: %w", who, err)
	}
	return messenger.Address(pub), who, nil
}

// decodeLimit is decode for requests of up to limit bytes.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, limit)).Decode(v); err != nil {
		http.Error(w, `{"error":"bad request (an image is at most 10 MiB)"}`, http.StatusBadRequest)
		return false
	}
	return true
}
