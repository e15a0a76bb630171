package ru.crmprofi.phone

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity

// CallCardActivity is the full card: a tap on the notification opens it
// (acknowledged as «opened»); «Позвонить» opens the dialer, «Отмена»
// dismisses the request.
class CallCardActivity : AppCompatActivity() {
    private var id: String? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_call_card)
        show(intent)
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        show(intent)
    }

    private fun show(intent: Intent) {
        val id = intent.getStringExtra(EXTRA_ID)
        val e = id?.let { CrmPhoneApp.of(this).history.get(it) }
        if (id == null || e == null) {
            finish()
            return
        }
        this.id = id
        findViewById<TextView>(R.id.number).text = e.display
        findViewById<TextView>(R.id.contact).text = e.contact ?: getString(R.string.no_contact)
        val company = findViewById<TextView>(R.id.company)
        company.text = e.company ?: ""
        company.visibility = if (e.company == null) View.GONE else View.VISIBLE
        val status = e.shownStatus(System.currentTimeMillis())
        val state = findViewById<TextView>(R.id.state)
        if (status.isFinal) {
            state.text = if (status == ru.crmprofi.phone.protocol.CallStatus.EXPIRED) getString(R.string.call_expired) else statusText(status)
            state.visibility = View.VISIBLE
        } else {
            state.visibility = View.GONE
            Delivery.opened(this, id)
        }
        findViewById<Button>(R.id.call).setOnClickListener {
            Delivery.dial(this, id)
            finish()
        }
        findViewById<Button>(R.id.cancel).setOnClickListener {
            Delivery.cancel(this, id)
            finish()
        }
    }

    companion object {
        const val EXTRA_ID = "command_id"

        fun intent(context: Context, id: String): Intent =
            Intent(context, CallCardActivity::class.java)
                .putExtra(EXTRA_ID, id)
                .setAction("open:$id")
                .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_CLEAR_TOP)
    }
}

// DialActivity: «Позвонить» on the notification. An invisible activity
// (Android forbids starting the dialer from a receiver) that opens the
// dialer with the number and closes.
class DialActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        intent.getStringExtra(EXTRA_ID)?.let { Delivery.dial(this, it) }
        finish()
    }

    companion object {
        private const val EXTRA_ID = "command_id"

        fun intent(context: Context, id: String): Intent =
            Intent(context, DialActivity::class.java)
                .putExtra(EXTRA_ID, id)
                .setAction("dial:$id")
                .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
    }
}
