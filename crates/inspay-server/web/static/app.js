// inspay web client: the only script of the pages (besides the vendored SM2 library).
//
// 1. Sealing (clauses 5.2.2.1-c/d): an input marked data-seal="<field>" has no name, so its
//    clear value is never part of the form's data. On submit, its value is encrypted with the
//    server's SM2 field-transport key (the form's data-key, SEC1 hex) together with the form's
//    one-time nonce, and the envelope goes into the hidden input named <field>; the clear
//    input is emptied. Envelope: INSPAY-ENC1.<serial>.<base64url(04 || x || y || C3 || C2)>
//    over "<nonce>\n<field>\n<value>" (SM2 C1C3C2; sm-crypto-v2 leaves out C1's 04 tag, the
//    server needs it).
// 2. Forgetting (clause 5.6.5-b): every form is reset when the page is left and when it is
//    shown again, so Back (even from the back/forward cache) never shows what was typed.
// 3. Signing with a staff key file (a software token): a form with data-sign-document (base64
//    of the exact bytes, which the page also shows as text) and a file input marked
//    data-sign-key signs the document with the SM2 private key read from the chosen PKCS#8
//    PEM file (SM2 with SM3, the standard's default user id), puts the DER signature (base64)
//    into its hidden "signature" input and empties the file input. The key never leaves the
//    page and is dropped after signing.
// No HTML is written (Trusted Types forbid it), nothing is stored in the browser.
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.add('js');

  function hexToBase64Url(hex) {
    var bin = '';
    for (var i = 0; i < hex.length; i += 2) {
      bin += String.fromCharCode(parseInt(hex.substr(i, 2), 16));
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function seal(keyHex, serial, nonce, field, value) {
    var sm2 = window.SmCryptoV2.sm2;
    // cipherMode 1 = C1C3C2; the key is given as "04" + x + y.
    var c = sm2.doEncrypt(nonce + '\n' + field + '\n' + value, keyHex, 1);
    return 'INSPAY-ENC1.' + serial + '.' + hexToBase64Url('04' + c);
  }

  function showSealError(form) {
    var note = form.querySelector('.seal-error');
    if (note) { note.classList.remove('hidden'); }
  }

  function sealForm(form, event) {
    var key = form.getAttribute('data-key');
    var serial = form.getAttribute('data-serial');
    var nonce = form.getAttribute('data-nonce');
    if (!window.SmCryptoV2 || !key || !serial || !nonce) {
      event.preventDefault();
      showSealError(form);
      return;
    }
    var inputs = form.querySelectorAll('[data-seal]');
    try {
      for (var i = 0; i < inputs.length; i++) {
        var input = inputs[i];
        var field = input.getAttribute('data-seal');
        var target = form.querySelector('input[type="hidden"][name="' + field + '"]');
        if (!target) { continue; }
        target.value = (input.value === '' || input.disabled) ? '' : seal(key, serial, nonce, field, input.value);
        input.value = '';
      }
    } catch (e) {
      event.preventDefault();
      showSealError(form);
    }
  }

  function base64ToBytes(b64) {
    var bin = atob(b64.replace(/\s+/g, ''));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return bytes;
  }

  function hexToBase64(hex) {
    var bin = '';
    for (var i = 0; i < hex.length; i += 2) {
      bin += String.fromCharCode(parseInt(hex.substr(i, 2), 16));
    }
    return btoa(bin);
  }

  // The 32-byte private scalar of an unencrypted PKCS#8 (or SEC1) SM2 key: the ECPrivateKey
  // structure starts INTEGER 1, OCTET STRING of 32 bytes (02 01 01 04 20).
  function privateKeyHex(pem) {
    if (pem.indexOf('ENCRYPTED') >= 0) { throw new Error('encrypted key'); }
    var body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '');
    var der = base64ToBytes(body);
    for (var i = 0; i + 37 <= der.length; i++) {
      if (der[i] === 2 && der[i + 1] === 1 && der[i + 2] === 1 && der[i + 3] === 4 && der[i + 4] === 32) {
        var hex = '';
        for (var j = i + 5; j < i + 37; j++) { hex += (der[j] < 16 ? '0' : '') + der[j].toString(16); }
        return hex;
      }
    }
    throw new Error('not an SM2 private key');
  }

  function signForm(form, event) {
    if (form.getAttribute('data-signed') === 'yes') { return; }
    event.preventDefault();
    var input = form.querySelector('input[type="file"][data-sign-key]');
    var target = form.querySelector('input[type="hidden"][name="signature"]');
    var file = input && input.files && input.files[0];
    if (!file || !target || !window.SmCryptoV2) { showSealError(form); return; }
    var reader = new FileReader();
    reader.onload = function () {
      try {
        var key = privateKeyHex(String(reader.result));
        var message = base64ToBytes(form.getAttribute('data-sign-document'));
        var signature = window.SmCryptoV2.sm2.doSignature(message, key, { hash: true, der: true });
        key = null;
        target.value = hexToBase64(signature);
        input.value = '';
        form.setAttribute('data-signed', 'yes');
        form.submit();
      } catch (e) {
        showSealError(form);
      }
    };
    reader.onerror = function () { showSealError(form); };
    reader.readAsText(file);
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.hasAttribute('data-sign-document')) {
      signForm(form, event);
      return;
    }
    if (form.hasAttribute('data-key')) {
      sealForm(form, event);
    }
    if (!event.defaultPrevented) {
      // One submission per click: a second click while the first is on its way does nothing.
      if (form.getAttribute('data-submitted') === 'yes') {
        event.preventDefault();
        return;
      }
      form.setAttribute('data-submitted', 'yes');
    }
  }, false);

  function forget() {
    var forms = document.forms;
    for (var i = 0; i < forms.length; i++) {
      forms[i].reset();
      forms[i].removeAttribute('data-submitted');
      forms[i].removeAttribute('data-signed');
      var sealed = forms[i].querySelectorAll('[data-seal]');
      for (var j = 0; j < sealed.length; j++) { sealed[j].value = ''; }
    }
  }
  window.addEventListener('pagehide', forget);
  window.addEventListener('pageshow', forget);
})();
