package ru.crmprofi.phone

import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.ListView
import androidx.appcompat.app.AppCompatActivity
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale

// HistoryActivity lists the last call requests: when, number, who, status.
class HistoryActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_history)
        supportActionBar?.setDisplayHomeAsUpEnabled(true)
    }

    override fun onResume() {
        super.onResume()
        val now = System.currentTimeMillis()
        val entries = CrmPhoneApp.of(this).history.all()
        val time = SimpleDateFormat("d MMM, HH:mm", Locale("ru"))
        val lines = entries.map { e ->
            val who = listOfNotNull(e.contact, e.company).joinToString(", ")
            buildString {
                append(time.format(Date(e.receivedAt))).append(" — ").append(statusText(e.shownStatus(now))).append('\n')
                append(e.display)
                if (who.isNotEmpty()) append('\n').append(who)
            }
        }
        val list = findViewById<ListView>(R.id.list)
        list.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1, lines)
        list.setOnItemClickListener { _, _, position, _ ->
            startActivity(CallCardActivity.intent(this, entries[position].id))
        }
        findViewById<View>(R.id.empty).visibility = if (entries.isEmpty()) View.VISIBLE else View.GONE
    }

    override fun onSupportNavigateUp(): Boolean {
        finish()
        return true
    }
}
